import { spawn } from 'node:child_process';

// A tiny detached watchdog (like testcontainers' Ryuk): when the owning process dies for any reason,
// SIGKILL included, it stops the cluster and deletes its directory. It checks the postmaster's command
// line names this directory before signalling, so a recycled pid is never hit.
//
// Tools the owner left working in the directory (a `cp` of the initdb template, initdb, single-user
// postgres) outlive it and would write files back while `rm -rf` runs, which then fails: they are ended
// first, matched the way leftovers.ts matches them (an argument that is the directory or a path inside it).
// The label file goes last, so a directory that could not be removed is still known as ours to `cleanup`.
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
names_dir() {
  tr '\\0' '\\n' < "/proc/$1/cmdline" 2>/dev/null | {
    while IFS= read -r arg; do case "$arg" in "$dir"|"$dir"/*|*="$dir"/*) exit 0;; esac; done
    exit 1
  }
}
killed=''
for p in /proc/[0-9]*; do
  p=\${p#/proc/}
  [ "$p" = "$$" ] && continue
  names_dir "$p" && kill -KILL "$p" 2>/dev/null && killed="$killed $p"
done
for p in $killed; do i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 10 ]; do sleep 0.1; i=$((i+1)); done; done
find "$dir" -mindepth 1 -maxdepth 1 ! -name restore-drill.json -exec rm -rf {} + && rm -rf "$dir"
`;

/** Starts a watchdog that removes `dir` (stopping its cluster) once process `ownerPid` is gone. */
export function startReaper(ownerPid: number, dir: string): void {
  const child = spawn('sh', ['-c', SCRIPT, 'restore-drill-reaper', String(ownerPid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}
