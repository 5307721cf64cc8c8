// The example drill: restore the newest dump of the shop database, verify every table against the
// markers, and check a few things only someone who knows the data can say.
import { expect } from 'vitest';
import { useDemoBackups } from './demo-setup.ts';
import { drill, fileSource, freshnessPolicy } from '../src/index.ts'; // 'restore-drill' when installed as a package

// Builds this example's demo "production" database and its dumps first (once per run, shared by the examples).
useDemoBackups();

drill(
  'shop restores from the latest dump',
  {
    source: fileSource('backups/custom'),
    objectives: { rto: '8h', rpo: '3h' },
    // Checked on every recovery point the source lists, before anything is restored.
    policies: [freshnessPolicy({ maxAge: '3h' })],
    // What this drill is evidence for, in `restore-drill controls reports/`. Fixture data evidences no real
    // control, so the example names demo ids; a drill of your database names yours, e.g. 'SOC2-A1.2'.
    controls: ['demo:SOC2-A1.2', 'demo:SOC2-A1.3', 'demo:ISO27001-A.8.13'],
  },
  async ({ db, check }) => {
    await check('every order belongs to a customer', async () => {
      const { rows } = await db.query(
        'select count(*)::int as n from orders o left join customers c on c.id = o.customer_id where c.id is null',
      );
      expect(rows[0].n).toBe(0);
    });
    await check('order totals are never negative', async () => {
      const { rows } = await db.query('select count(*)::int as n from orders where total < 0');
      expect(rows[0].n).toBe(0);
    });
    await check('indexes came back', async () => {
      const { rows } = await db.query(
        "select count(*)::int as n from pg_indexes where indexname = 'orders_customer_id_idx'",
      );
      expect(rows[0].n).toBe(1);
    });
  },
);
