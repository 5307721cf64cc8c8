import { describe, expect, test } from 'vitest';
import { ConfigError } from '../errors.ts';
import { evaluateObjective, objectiveCheck, objectiveTargets } from './objectives.ts';

describe('objectives', () => {
  test('durations become seconds', () => {
    expect(objectiveTargets({ rto: '8h', rpo: '90m' })).toEqual({ rtoSeconds: 28800, rpoSeconds: 5400 });
    expect(objectiveTargets({})).toEqual({ rtoSeconds: null, rpoSeconds: null });
  });

  test('a bad duration names the objective', () => {
    expect(() => objectiveTargets({ rto: '8 hours' })).toThrow(ConfigError);
    expect(() => objectiveTargets({ rpo: '3x' })).toThrow(/bad RPO "3x"/);
  });

  test('met, not met, not measured', () => {
    expect(evaluateObjective(60, 59.9)).toEqual({ targetSeconds: 60, actualSeconds: 59.9, met: true });
    expect(evaluateObjective(60, 61).met).toBe(false);
    expect(evaluateObjective(60, null).met).toBeNull();
    expect(evaluateObjective(null, 5).met).toBeNull();
  });

  test('an objective that could not be measured is a skipped check, never a passed one', () => {
    expect(objectiveCheck('RPO', evaluateObjective(3600, null))?.status).toBe('skipped');
    expect(objectiveCheck('RTO', evaluateObjective(3600, 7200))).toMatchObject({
      status: 'failed',
      expected: '≤ 1h 00m',
      actual: '2h 00m',
    });
    expect(objectiveCheck('RTO', evaluateObjective(null, 7200))).toBeNull();
  });
});
