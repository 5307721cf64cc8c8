// The shapes of database the benchmark restores. One data shape is not enough to claim a drill costs little
// on every database: a relational schema is dominated by index builds and foreign-key validation, wide
// TOASTed documents by their out-of-line storage, 1,000 small tables by per-table overheads, and one large
// table by a single serial stream. Every value is a pure function of the row number, so the data (and its
// dump) is the same on every machine and cached by the SQL text that makes it.
import type pg from 'pg';
import { benchRowCounts, benchSql, seedBench } from '../fixtures/bench/seed-bench.ts';

/** One shape: the SQL that builds it at a size, and its default size (the benchmark also runs a tenth of it). */
export interface BenchShape {
  readonly name: string;
  /** One line for the results: what the shape is. */
  readonly describe: string;
  /** Rows in all at the default (largest) size. */
  readonly defaultRows: number;
  /** The SQL that builds the shape with about `rows` rows in all (also the cache key of its dump). */
  sql(rows: number): Promise<string>;
}

const relational = (rows: number): string => {
  // customers 5 %, products 1 %, orders 24 %, order_items 50 % (two per order), payments 20 %.
  const customers = Math.max(100, Math.round(rows * 0.05));
  const products = Math.max(100, Math.round(rows * 0.01));
  const orders = Math.max(100, Math.round(rows * 0.24));
  return `
create table customers (
  id bigint primary key,
  email text not null unique,
  region text not null,
  signed_up timestamptz not null
);
create index customers_region_idx on customers (region);
create index customers_signed_up_idx on customers (signed_up);

create table products (
  id int primary key,
  sku text not null unique,
  category text not null,
  price numeric(10, 2) not null
);
create index products_category_idx on products (category, price);

create table orders (
  id bigint primary key,
  customer_id bigint not null references customers (id),
  placed_at timestamptz not null,
  status text not null,
  total numeric(12, 2) not null
);
create index orders_customer_idx on orders (customer_id);
create index orders_placed_at_idx on orders (placed_at);
create index orders_status_idx on orders (status, placed_at);

-- The composite primary key.
create table order_items (
  order_id bigint not null references orders (id),
  line int not null,
  product_id int not null references products (id),
  quantity int not null,
  price numeric(10, 2) not null,
  primary key (order_id, line)
);
create index order_items_product_idx on order_items (product_id);
create index order_items_price_idx on order_items (price);

create table payments (
  id bigint primary key,
  order_id bigint not null references orders (id),
  paid_at timestamptz not null,
  amount numeric(12, 2) not null,
  method text not null
);
create index payments_order_idx on payments (order_id);
create index payments_paid_at_idx on payments (paid_at);

insert into customers select i, 'c' || i || '@example.test', (array['eu', 'us', 'apac', 'latam'])[1 + i % 4],
  timestamptz '2020-01-01 00:00:00+00' + i * interval '3 minutes' from generate_series(1, ${customers}) i;
insert into products select i, 'SKU-' || lpad(i::text, 7, '0'), 'cat ' || (i % 40), round(((i::bigint * 7919) % 100000) / 100.0 + 1, 2)
  from generate_series(1, ${products}) i;
insert into orders select i, 1 + (i::bigint * 7919) % ${customers}, timestamptz '2023-01-01 00:00:00+00' + i * interval '61 seconds',
  (array['new', 'paid', 'shipped', 'delivered', 'returned'])[1 + i % 5], round(((i::bigint * 31) % 100000) / 7.0, 2)
  from generate_series(1, ${orders}) i;
insert into order_items select o, l, 1 + (o::bigint * 13 + l * 7) % ${products}, 1 + (o + l) % 5, round(((o::bigint * l) % 5000) * 0.37 + 1, 2)
  from generate_series(1, ${orders}) o, generate_series(1, 2) l;
insert into payments select i, 1 + (i::bigint * 104729) % ${orders}, timestamptz '2023-01-02 00:00:00+00' + i * interval '73 seconds',
  round(((i::bigint * 17) % 100000) / 9.0, 2), (array['card', 'transfer', 'wallet'])[1 + i % 3]
  from generate_series(1, ${Math.max(100, Math.round(rows * 0.2))}) i;
`;
};

// ≈ 6 kB per row: 3.2 kB of hex text and a jsonb document of ≈ 2.5 kB, neither compressible enough to stay inline.
const wide = (rows: number): string => `
create table documents (
  id bigint primary key,
  title text not null,
  body text not null,
  doc jsonb not null,
  updated_at timestamptz not null
);
create index documents_updated_at_idx on documents (updated_at);
insert into documents
select i, 'Document ' || i,
       (select string_agg(md5(i::text || '/' || k), '') from generate_series(1, 100) k),
       (select jsonb_build_object('id', i, 'tags', jsonb_agg(md5(k::text || '#' || i)), 'score', (i % 1000) / 10.0, 'sections',
                jsonb_agg(jsonb_build_object('n', k, 'h', substr(md5('h' || i || k), 1, 12))))
          from generate_series(1, 40) k),
       timestamptz '2025-01-01 00:00:00+00' + i * interval '1 minute'
from generate_series(1, ${rows}) i;
`;

// 1,000 tables of rows/1000 rows each: what costs per table (catalog queries, round trips) dominates.
const manyTables = (rows: number): string => `
do $$
begin
  for t in 1..1000 loop
    execute format('create table %I (id int primary key, name text not null, amount numeric(10, 2), at timestamptz not null)', 'small_' || t);
    execute format($q$insert into %I select i, 'row ' || i, (i * %s) %% 1000 / 10.0, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour'
                      from generate_series(1, %s) i$q$, 'small_' || t, t, ${Math.max(1, Math.round(rows / 1000))});
  end loop;
end $$;
`;

// One table: a single COPY stream and a single primary-key build, the least parallel restore there is.
const oneTable = (rows: number): string => `
create table readings (
  id bigint primary key,
  sensor int not null,
  taken_at timestamptz not null,
  value double precision not null,
  note text
);
create index readings_sensor_idx on readings (sensor, taken_at);
insert into readings select i, i % 5000, timestamptz '2024-01-01 00:00:00+00' + i * interval '2 seconds', (i % 100000) / 7.0,
  case when i % 3 = 0 then null else 'n' || (i % 977) end
from generate_series(1, ${rows}) i;
`;

/** The shapes, by name; `bench` is the original benchmark database (fixtures/bench). */
export const BENCH_SHAPES: readonly BenchShape[] = [
  {
    name: 'bench',
    describe: 'fixtures/bench: a SaaS shop with jsonb, bytea, a table without a primary key and TOASTed documents',
    defaultRows: 2_000_000,
    // seed-bench.ts sets the row counts into the SQL; here they only make the cache key.
    sql: async (rows) => `${await benchSql()}\n-- ${JSON.stringify(benchRowCounts(rows))}`,
  },
  {
    name: 'relational',
    describe: '5 tables with foreign keys and 1–3 secondary indexes each, one composite primary key',
    defaultRows: 1_200_000,
    sql: (rows) => Promise.resolve(relational(rows)),
  },
  {
    name: 'wide',
    describe: 'one table of ≈ 6 kB TOASTed text and jsonb per row',
    defaultRows: 40_000,
    sql: (rows) => Promise.resolve(wide(rows)),
  },
  {
    name: 'many-tables',
    describe: '1,000 small tables',
    defaultRows: 300_000,
    sql: (rows) => Promise.resolve(manyTables(rows)),
  },
  {
    name: 'one-table',
    describe: 'one large table with a secondary index',
    defaultRows: 2_000_000,
    sql: (rows) => Promise.resolve(oneTable(rows)),
  },
];

/** Builds `shape` with about `rows` rows in the connected (empty) database. */
export async function seedShape(client: pg.ClientBase, shape: BenchShape, rows: number): Promise<void> {
  if (shape.name === 'bench') return seedBench(client, rows);
  await client.query(await shape.sql(rows));
}
