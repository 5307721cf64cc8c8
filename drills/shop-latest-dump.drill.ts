// The example drill: restore the newest dump of the shop database, verify every table against the
// markers, and check a few things only someone who knows the data can say.
import { expect } from 'vitest';
import { drill, fileSource, freshnessPolicy } from '../src/index.ts';

drill(
  'shop restores from the latest dump',
  {
    source: fileSource('backups/custom'),
    objectives: { rto: '8h', rpo: '3h' },
    // Checked on every recovery point the source lists, before anything is restored.
    policies: [freshnessPolicy({ maxAge: '3h' })],
    // What this drill is evidence for, in `restore-drill controls reports/`.
    controls: ['SOC2-A1.2', 'SOC2-A1.3', 'ISO27001-A.8.13'],
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
      const { rows } = await db.query("select count(*)::int as n from pg_indexes where indexname = 'orders_customer_id_idx'");
      expect(rows[0].n).toBe(1);
    });
  },
);
