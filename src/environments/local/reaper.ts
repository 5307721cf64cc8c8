import { spawn } from 'node:child_process';
import { lstatSync } from 'node:fs';

// A tiny detached watchdog (like testcontainers' Ryuk): when the owning process dies for any reason,
// SIGKILL included, it stops the cluster and deletes its directory. It checks the postmaster's command
// line names this directory before signalling, so a recycled pid is never hit.
//
// It runs as root in CI, in a directory the server's account (or code from a backup running as it) may
// write to, so it never deletes through a path that could be swapped for a symlink: it enters the directory
// only if it is the very one the owner made (device and inode, passed at start), and from then on works
// relative to it (its working directory), never through "$dir". Recursion is GNU rm's, which walks through
// open directory handles and never follows a symlink it meets; with another rm it leaves the directory to
// `cleanup` (removeOwnTree). As root, a folder of another account (the server's data) is emptied with that
// account's rights, so anything planted in it can only make the removal delete what that account could.
//
// Tools the owner left working in the directory (a `cp` of the initdb template, initdb, single-user
// postgres) outlive it and would write files back while `rm -rf` runs, which then fails: they are ended
// first, matched the way leftovers.ts matches them (an argument that is the directory or a path inside it).
// The label file goes last, so a directory that could not be removed is still known as ours to `cleanup`.
// "$hook", when given, is run before each step with the step's name (tests swap symlinks in there).
const SCRIPT = `
owner="$1"; dir="$2"; id="$3"; hook="$4"
step() { [ -z "$hook" ] || "$hook" "$1" "$dir"; }
while kill -0 "$owner" 2>/dev/null && [ -d "$dir" ]; do sleep 1; done
step owner-gone
[ -L "$dir" ] && exit 0
cd -P -- "$dir" 2>/dev/null || exit 0
[ "$(stat -c %d:%i .)" = "$id" ] || exit 0
step anchored
pid=$(head -n 1 data/postmaster.pid 2>/dev/null)
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
rm --version 2>/dev/null | grep -q 'GNU coreutils' || exit 0
me=$(id -u)
for entry in * .[!.]* ..?*; do
  [ -e "$entry" ] || [ -L "$entry" ] || continue
  [ "$entry" = restore-drill.json ] && continue
  step "remove $entry"
  uid=$(stat -c %u -- "$entry" 2>/dev/null) || continue
  if [ "$me" = 0 ] && [ "$uid" != 0 ] && [ ! -L "$entry" ] && [ -d "$entry" ]; then
    gid=$(stat -c %g -- "$entry")
    setpriv --reuid="$uid" --regid="$gid" --clear-groups -- rm -rf --one-file-system -- "./$entry" 2>/dev/null
    rmdir -- "./$entry" 2>/dev/null
  else
    rm -rf --one-file-system -- "./$entry"
  fi
done
step label
rm -f -- restore-drill.json
cd / || exit 0
step rmdir
[ "$(stat -c %d:%i -- "$dir" 2>/dev/null)" = "$id" ] && rmdir -- "$dir"
`;

/**
 * Starts a watchdog that removes `dir` (stopping its cluster) once process `ownerPid` is gone; returns its pid.
 * `testHook` (tests only): an executable run before each step with the step's name and `dir`.
 *
 * @example
 * startReaper(process.pid, clusterDir);
 */
export function startReaper(ownerPid: number, dir: string, testHook?: string): number | undefined {
  const { dev, ino } = lstatSync(dir);
  const child = spawn(
    'sh',
    ['-c', SCRIPT, 'restore-drill-reaper', String(ownerPid), dir, `${dev}:${ino}`, testHook ?? ''],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  child.unref();
  return child.pid;
}
