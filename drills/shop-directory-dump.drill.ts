// Same database, directory-format dump (pg_dump -Fd): restored with parallel jobs.
import { expect } from 'vitest';
import { useDemoBackups } from './demo-setup.ts';
import { drill, fileSource } from '../src/index.ts';

// Builds this example's demo "production" database and its dumps first (once per run, shared by the examples).
useDemoBackups();

drill(
  'shop restores from a directory-format dump',
  {
    source: fileSource('backups/directory'),
    objectives: { rto: '8h', rpo: '3h' },
    controls: ['demo:ISO27001-A.8.13'], // fixture data: a demo id, not a real control
  },
  async ({ db, check }) => {
    await check('append-only events kept arriving after the marker', async () => {
      const { rows } = await db.query("select count(*)::int as n from events where payload ? 'late'");
      expect(rows[0].n).toBe(25);
    });
  },
);
