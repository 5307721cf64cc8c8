// The point-in-time example: restore a pgBackRest backup of the shop database to a random moment of the last
// day — like AWS Backup restore testing's random recovery point — prove the copy landed at that moment with
// the in-database markers, and verify the data as it was then.
import { expect } from 'vitest';
import { usePgBackRestDemoBackups } from './demo-setup.ts';
import { drill, pgBackRestSource } from '../src/index.ts'; // 'restore-drill' when installed as a package

const NAME = 'shop restores to a random moment of the last day (pgBackRest)';

// Builds this example's demo "production" (a pgBackRest stanza `shop` in backups/pgbackrest/) once per run;
// false, saying so in one line, when pgbackrest is not installed. A drill of your own stanza needs neither.
if (usePgBackRestDemoBackups(NAME)) {
  drill(
    NAME,
    {
      // Your stanza and its pgbackrest.conf (the repository; the cipher pass, if any, from the config or
      // PGBACKREST_REPO1_CIPHER_PASS — never an argument). `database` is the one the drill verifies.
      source: pgBackRestSource({ stanza: 'shop', config: 'backups/pgbackrest/pgbackrest.conf', database: 'shop' }),
      // A moment drawn at random between a day ago and the archive's last commit, replayed from the newest
      // backup taken before the window (else the oldest one). The report names the moment, the backup, the WAL
      // replayed, and proves the moment twice: where the server stopped replay, and the markers in the copy
      // (the newest one before the moment is there, none after it is).
      pick: { strategy: 'random', within: '1d' },
      objectives: { rto: '8h' },
      controls: ['demo:ISO27001-A.8.13'], // fixture data: a demo id, not a real control
    },
    async ({ db, check, environment }) => {
      // The moment the random pick settled on, as the server was given it.
      const moment = String(environment.facts?.targetTime);
      await check('no event from after the moment', async () => {
        // occurred_at is now() of the inserting transaction: it started before it committed, so before the moment.
        const { rows } = await db.query('select count(*)::int as n from events where occurred_at > $1', [moment]);
        expect(rows[0].n).toBe(0);
      });
      await check('every order belongs to a customer', async () => {
        const { rows } = await db.query(
          'select count(*)::int as n from orders o left join customers c on c.id = o.customer_id where c.id is null',
        );
        expect(rows[0].n).toBe(0);
      });
    },
  );
}
