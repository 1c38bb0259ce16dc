# shellcheck shell=sh
## reaper.sh -- runs beside a driver on its machine, in a session of its own: its stdin is a pipe
## the driver holds. "+NAME" on it means the driver started the job NAME, "-NAME" that it saw
## it through. The end of the pipe means the driver is gone (even by SIGKILL): the reaper then
## runs its arguments with each job it still holds as the last one, all at once: the command
## that removes the job's container, Slurm job, TES task or Pod.
## sh reaper.sh CLEANUP-COMMAND [ARG...]
set -f
_rp_nl='
'
IFS=$_rp_nl
_rp_jobs=
while read -r _rp_line; do
  case $_rp_line in
    +?*) _rp_jobs="$_rp_jobs$_rp_nl${_rp_line#+}" ;;
    -?*)
      _rp_keep=
      for _rp_job in $_rp_jobs; do
        [ "$_rp_job" = "${_rp_line#-}" ] || _rp_keep="$_rp_keep$_rp_nl$_rp_job"
      done
      _rp_jobs=$_rp_keep
      ;;
  esac
done
for _rp_job in $_rp_jobs; do
  "$@" "$_rp_job" &
done
wait
