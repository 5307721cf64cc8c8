// The example drill: restore the newest dump of the shop database, verify every table against the
// markers, and check a few things only someone who knows the data can say.
import { expect } from 'vitest';
import { drill, fileSource } from '../src/index.ts';

drill(
  'shop restores from the latest dump',
  {
    source: fileSource('backups/custom'),
    objectives: { rto: '8h', rpo: '3h' },
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
