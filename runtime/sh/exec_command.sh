# shellcheck shell=sh
## exec_command.sh -- the middle container of a split task (`--tes-split`): run the command file
## the prologue wrote ($1) under bash when the image has it (or when $2 says bash), else sh.
if [ "${2:-}" = sh ] || { [ "${2:-}" != bash ] && ! command -v bash >/dev/null 2>&1; }; then
    exec sh "$1"
fi
exec bash "$1"
