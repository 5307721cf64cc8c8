import { spawn } from 'node:child_process';

// A tiny detached watchdog (like testcontainers' Ryuk): when the owning process dies for any reason,
// SIGKILL included, it stops the cluster and deletes its directory. It checks the postmaster's command
// line names this directory before signalling, so a recycled pid is never hit.
const SCRIPT = `
owner="$1"; dir="$2"
while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
[ -d "$dir" ] || exit 0
pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ] && tr '\\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir"; then
  kill -QUIT "$pid" 2>/dev/null
  i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$dir"
`;

/** Starts a watchdog that removes `dir` (stopping its cluster) once process `ownerPid` is gone. */
export function startReaper(ownerPid: number, dir: string): void {
  const child = spawn('sh', ['-c', SCRIPT, 'restore-drill-reaper', String(ownerPid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}
