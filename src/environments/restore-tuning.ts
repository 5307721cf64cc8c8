/**
 * Server settings for a fast restore into a cluster that is thrown away afterwards, sized by the CPU cores
 * and the memory (in MiB) the server may use. Shared by the local and the container environment.
 */
export function restoreTuningFor(cores: number, mb: number): Record<string, string | number | boolean> {
  return {
    // Non-durable on purpose: the cluster is thrown away, so crash safety only costs restore time.
    fsync: false,
    synchronous_commit: false,
    full_page_writes: false,
    wal_level: 'minimal',
    max_wal_senders: 0,
    archive_mode: false,
    autovacuum: false,
    checkpoint_timeout: '1h',
    max_wal_size: '8GB',
    shared_buffers: `${Math.min(1024, Math.max(128, Math.floor(mb / 16)))}MB`,
    maintenance_work_mem: `${Math.min(1024, Math.max(64, Math.floor(mb / 32)))}MB`,
    work_mem: '64MB',
    max_worker_processes: Math.max(8, cores * 2),
    max_parallel_workers: Math.max(2, cores),
    max_parallel_workers_per_gather: Math.max(1, cores),
    max_parallel_maintenance_workers: Math.max(1, cores),
    jit: false,
  };
}
