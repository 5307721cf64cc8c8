// Same database, directory-format dump (pg_dump -Fd): restored with parallel jobs.
import { expect } from 'vitest';
import { drill, fileSource } from '../src/index.ts';

drill(
  'shop restores from a directory-format dump',
  {
    source: fileSource('backups/directory'),
    objectives: { rto: '8h', rpo: '3h' },
    controls: ['ISO27001-A.8.13'],
  },
  async ({ db, check }) => {
    await check('append-only events kept arriving after the marker', async () => {
      const { rows } = await db.query("select count(*)::int as n from events where payload ? 'late'");
      expect(rows[0].n).toBe(25);
    });
  },
);
