// pg_restore's stderr as it really reads (recorded from pg_restore 15 --verbose), parsed line by line.
import { describe, expect, test } from 'vitest';
import {
  formatRestoreErrors,
  MAX_KEPT_ERRORS,
  RestoreErrorLog,
  RestoreFailedError,
  restoreFailure,
  RestoreIncompleteError,
} from './restore-errors.ts';

function parse(stderr: string) {
  const log = new RestoreErrorLog();
  for (const line of stderr.split('\n')) if (line.trim()) log.line(line);
  return log.result();
}

const FK_TWO_JOBS = `pg_restore: connecting to database for restore
pg_restore: creating TABLE "public.orders"
pg_restore: entering main parallel loop
pg_restore: launching item 3354 TABLE DATA orders
pg_restore: processing data for table "public.orders"
pg_restore: finished item 3205 CONSTRAINT customers customers_pkey
pg_restore: launching item 3210 FK CONSTRAINT orders orders_customer_id_fkey
pg_restore: creating FK CONSTRAINT "public.orders orders_customer_id_fkey"
pg_restore: while PROCESSING TOC:
pg_restore: from TOC entry 3210; 2606 16399 FK CONSTRAINT orders orders_customer_id_fkey postgres
pg_restore: error: could not execute query: ERROR:  insert or update on table "orders" violates foreign key constraint "orders_customer_id_fkey"
DETAIL:  Key (customer_id)=(4242) is not present in table "customers".
Command was: ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);


pg_restore: finished item 3210 FK CONSTRAINT orders orders_customer_id_fkey
pg_restore: finished item 3209 CONSTRAINT notes notes_pkey
pg_restore: finished main parallel loop
pg_restore: warning: errors ignored on restore: 2`;

const TRUNCATED_TWO_JOBS = `pg_restore: entering main parallel loop
pg_restore: launching item 3354 TABLE DATA orders
pg_restore: processing data for table "public.orders"
pg_restore: error: could not find block ID 3354 in archive -- possibly corrupt archive
pg_restore: error: a worker process died unexpectedly`;

describe('RestoreErrorLog', () => {
  test("a foreign key the data violates, with two jobs: the object, the cause and the server's DETAIL are kept; counted once", () => {
    const summary = parse(FK_TWO_JOBS);
    expect(summary).toEqual({
      errors: [
        {
          kind: 'object',
          object: 'FK CONSTRAINT orders_customer_id_fkey on public.orders',
          cause: 'foreign key violation',
          message:
            'ERROR: insert or update on table "orders" violates foreign key constraint "orders_customer_id_fkey"',
          detail: 'Key (customer_id)=(4242) is not present in table "customers".',
          command:
            'ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);',
        },
      ],
      // pg_restore says "errors ignored on restore: 2" for one error with -j 2; the count is of errors seen.
      count: 1,
      ignored: 2,
      workerDied: false,
    });
    const failure = restoreFailure(1, summary, '');
    expect(failure).toBeInstanceOf(RestoreIncompleteError);
    expect(failure.message).toBe(
      'pg_restore completed with 1 error: one object failed to load (FK CONSTRAINT orders_customer_id_fkey on public.orders: foreign key violation — ' +
        'ERROR: insert or update on table "orders" violates foreign key constraint "orders_customer_id_fkey" DETAIL: Key (customer_id)=(4242) is not present in table "customers".)',
    );
    expect(failure.message).not.toMatch(/damaged/);
  });

  test('a truncated archive with two jobs is "damaged", named by the worker\'s own error, not "a worker process died"', () => {
    const failure = restoreFailure(1, parse(TRUNCATED_TWO_JOBS), '');
    expect(failure).toBeInstanceOf(RestoreFailedError);
    expect((failure as RestoreFailedError).kind).toBe('damaged-archive');
    expect(failure.message).toBe(
      'pg_restore exited with code 1: the archive is damaged: pg_restore could not read it (could not find block ID 3354 in archive -- possibly corrupt archive)',
    );
    expect(failure.hint).toMatch(/damaged or incomplete/);
  });

  test.each([
    ['could not read from input file: end of file'],
    ['did not find magic string in file header'],
    ['unsupported version (1.99) in file header'],
    ['input file is too short (read 3, expected 5)'],
    ['could not uncompress data: invalid distance too far back'],
  ])('"%s" is a damaged archive', (message) => {
    const failure = restoreFailure(1, parse(`pg_restore: error: ${message}`), '');
    expect((failure as RestoreFailedError).kind).toBe('damaged-archive');
  });

  test.each([
    ['ERROR:  role "app_owner" does not exist', 'missing role'],
    ['ERROR:  extension "postgis" is not available', 'missing extension'],
    [
      'ERROR:  could not open extension control file "/usr/share/postgresql/15/extension/vector.control": No such file or directory',
      'missing extension',
    ],
    ['ERROR:  could not create unique index "customers_email_key"', 'unique violation'],
    ['ERROR:  syntax error at or near "NULLS"', 'not supported by the restored server'],
    ['ERROR:  type "public.geometry" does not exist', 'missing dependency'],
  ])('an object that failed with %s: %s, and pg_restore went on', (message, cause) => {
    const summary = parse(
      `pg_restore: from TOC entry 215; 1259 16390 TABLE places app\npg_restore: error: could not execute query: ${message}\npg_restore: warning: errors ignored on restore: 1`,
    );
    expect(summary.errors[0]).toMatchObject({ kind: 'object', object: 'TABLE places', cause });
    expect(restoreFailure(1, summary, '')).toBeInstanceOf(RestoreIncompleteError);
  });

  test('table data that fails to load names its table', () => {
    const summary = parse(
      'pg_restore: processing data for table "sales.orders"\npg_restore: error: COPY failed for table "orders": ERROR:  invalid input syntax for type integer: "x"\nCONTEXT:  COPY orders, line 12, column id: "x"\npg_restore: warning: errors ignored on restore: 1',
    );
    expect(summary.errors[0]).toMatchObject({
      kind: 'object',
      object: 'TABLE DATA sales.orders',
      cause: 'invalid data',
      context: 'COPY orders, line 12, column id: "x"',
    });
  });

  test('a failed query without its archive entry is still an object, never a damaged archive', () => {
    const summary = parse(
      'pg_restore: error: could not execute query: ERROR:  invalid input syntax for type json\npg_restore: warning: errors ignored on restore: 1',
    );
    expect(summary.errors[0]).toMatchObject({ kind: 'object', object: 'an archive entry', cause: 'invalid data' });
    expect(restoreFailure(1, summary, '')).toBeInstanceOf(RestoreIncompleteError);
  });

  test('a disk that fills up blames the disposable database, not the backup', () => {
    const summary = parse(
      'pg_restore: from TOC entry 3354; 0 16390 TABLE DATA orders app\npg_restore: error: COPY failed for table "orders": ERROR:  could not extend file "base/16384/16390": No space left on device\npg_restore: warning: errors ignored on restore: 1',
    );
    const failure = restoreFailure(1, summary, '') as RestoreFailedError;
    expect(failure.kind).toBe('environment');
    expect(failure.message).toMatch(/the disposable database failed during the restore \(not a fault of the backup\)/);
    expect(failure.message).not.toMatch(/damaged/);
  });

  test('a worker that died without a word is not called damaged', () => {
    const failure = restoreFailure(
      1,
      parse('pg_restore: entering main parallel loop\npg_restore: error: a worker process died unexpectedly'),
      '',
    ) as RestoreFailedError;
    expect(failure.kind).toBe('unknown');
    expect(failure.message).toBe(
      'pg_restore exited with code 1: pg_restore stopped (a worker process died without saying why)',
    );
  });

  test('many errors: the first are kept with their lines, all are counted, a damaged archive after them still decides', () => {
    const one = (i: number) =>
      `pg_restore: from TOC entry ${i}; 2606 1 FK CONSTRAINT t${i} t${i}_fkey app\npg_restore: error: could not execute query: ERROR:  insert or update on table "t${i}" violates foreign key constraint "t${i}_fkey"\nDETAIL:  Key (x)=(${i}) is not present in table "p".`;
    const many = Array.from({ length: 14 }, (_, i) => one(i)).join('\n');
    const summary = parse(`${many}\npg_restore: error: could not read from input file: end of file`);
    expect(summary.count).toBe(15);
    expect(summary.errors).toHaveLength(MAX_KEPT_ERRORS + 1);
    expect(restoreFailure(1, summary, '').message).toMatch(
      /the archive is damaged: .*could not read from input file: end of file.*; before that 10 object\(s\) failed to load/,
    );
    const listed = formatRestoreErrors({ errors: summary.errors.slice(0, 10), count: 14 }).split('\n');
    expect(listed).toHaveLength(6);
    expect(listed[0]).toBe(
      'FK CONSTRAINT t0_fkey on t0: foreign key violation — ERROR: insert or update on table "t0" violates foreign key constraint "t0_fkey" DETAIL: Key (x)=(0) is not present in table "p".',
    );
    expect(listed[5]).toBe('… and 9 more');
  });

  test('errors in a form not recognised here still make the restore incomplete, counted as pg_restore counts them', () => {
    const failure = restoreFailure(
      1,
      parse('pg_restore: something new went wrong\npg_restore: warning: errors ignored on restore: 3'),
      '',
    );
    expect(failure).toBeInstanceOf(RestoreIncompleteError);
    expect(failure.summary.count).toBe(3);
    expect(formatRestoreErrors(failure.summary)).toBe(
      "3 errors in a form not recognised (pg_restore's last lines are in the drill's log)",
    );
  });
});
