# shellcheck shell=sh
## reaper.sh -- runs beside a task on the driver's machine, in a session of its own: its stdin is
## a pipe the driver holds. "finished" on it means the driver saw the task through; the end of the
## pipe without it means the driver died (even by SIGKILL), and the reaper then runs its
## arguments: the command that removes the task's container, job, TES task or Pod.
## sh reaper.sh CLEANUP-COMMAND [ARG...]
_rp_line=
read -r _rp_line || :
[ "$_rp_line" = finished ] || exec "$@"
