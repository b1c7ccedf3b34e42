#!/bin/sh
# folder_links.sh COURSE GROUPS_ROOT [GROUP...] -- SERVER_COMMAND...
# Runs as the user inside their server's unit, before the server (hubstead.shared_folders):
# ~/course links to COURSE (when set) and ~/groups/NAME to GROUPS_ROOT/NAME for each group
# the user is in; links into GROUPS_ROOT of groups they left are removed. It runs as the
# user, so whatever is in their home it can do only what they could. A real file or
# folder of the user's own at one of these names is left alone. Never stops the server.
course=$1
groups_root=$2
shift 2
wanted=" "
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
    wanted="$wanted$1 "
    shift
done
[ "$#" -gt 0 ] && shift
cd "$HOME" 2>/dev/null || exec "$@"

link() {  # link TARGET NAME: NAME -> TARGET, unless NAME is something else of the user's
    if [ -L "$2" ] || [ ! -e "$2" ]; then
        ln -sfn "$1" "$2" 2>/dev/null
    fi
}

[ -n "$course" ] && link "$course" course
if [ "$wanted" != " " ]; then
    [ -e groups ] || [ -L groups ] || mkdir groups 2>/dev/null
fi
if [ -d groups ] && [ ! -L groups ]; then
    for name in $wanted; do
        link "$groups_root/$name" "groups/$name"
    done
    for entry in groups/*; do
        [ -L "$entry" ] || continue
        case "$(readlink "$entry")" in
            "$groups_root"/*)
                case "$wanted" in *" ${entry#groups/} "*) ;; *) rm -f "$entry" ;; esac ;;
        esac
    done
fi
exec "$@"
