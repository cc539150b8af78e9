# A stand-in, for tests, for what OpenWrt's rc.common gives an init script: the UCI helpers
# of /lib/functions.sh (config_load, config_get, config_get_bool, user_exists) and the procd
# helpers of /lib/functions/procd.sh. Sourced by POSIX sh before the init script.
#
# UCI config files are valid shell once `config`, `option` and `list` are functions (that is
# how OpenWrt loads them too), so config_load sources $UCI_CONFIG_DIR/NAME.
# Each procd call is written to $PROCD_LOG, one line per call; the argv of each instance's
# command goes to $PROCD_LOG.cmdN (N = instance number), one argument per line.
# chown is recorded, not done: the test runs without the agent's user.

_uci_section=
config() { _uci_section=$2; }
option() {
	_uci_name=$1
	shift
	eval "CONFIG_${_uci_section}_${_uci_name}=\$*"
}
list() {
	_uci_name=$1
	shift
	# As OpenWrt keeps them: NAME_LENGTH, NAME_ITEMn, and NAME space-separated.
	eval "_uci_len=\${CONFIG_${_uci_section}_${_uci_name}_LENGTH:-0}"
	_uci_len=$((_uci_len + 1))
	eval "CONFIG_${_uci_section}_${_uci_name}_LENGTH=\$_uci_len"
	eval "CONFIG_${_uci_section}_${_uci_name}_ITEM${_uci_len}=\$*"
	eval "_uci_old=\${CONFIG_${_uci_section}_${_uci_name}}"
	eval "CONFIG_${_uci_section}_${_uci_name}=\${_uci_old:+\$_uci_old }\$*"
}
config_load() { . "$UCI_CONFIG_DIR/$1"; }
config_get() { # var section option [default]
	eval "$1=\${CONFIG_$2_$3:-\$4}"
}
config_list_foreach() { # section option function
	eval "_uci_len=\${CONFIG_$1_$2_LENGTH:-0}"
	_uci_i=1
	while [ "$_uci_i" -le "$_uci_len" ]; do
		eval "_uci_v=\${CONFIG_$1_$2_ITEM$_uci_i}"
		"$3" "$_uci_v"
		_uci_i=$((_uci_i + 1))
	done
}
config_get_bool() { # var section option [default]
	config_get _uci_b "$2" "$3" "$4"
	case "$_uci_b" in
		1 | on | true | yes | enabled) _uci_b=1 ;;
		0 | off | false | no | disabled) _uci_b=0 ;;
		*) _uci_b=$4 ;;
	esac
	eval "$1=\$_uci_b"
}
user_exists() { grep -qs "^$1:" "$STANDIN_PASSWD"; }
chown() { echo "chown $*" >>"$PROCD_LOG"; }

_procd_n=0
procd_open_instance() {
	_procd_n=$((_procd_n + 1))
	echo "open_instance $*" >>"$PROCD_LOG"
}
procd_set_param() {
	_procd_key=$1
	shift
	if [ "$_procd_key" = command ]; then
		: >"$PROCD_LOG.cmd$_procd_n"
		for _a in "$@"; do printf '%s\n' "$_a" >>"$PROCD_LOG.cmd$_procd_n"; done
	fi
	echo "set_param $_procd_key $*" >>"$PROCD_LOG"
}
procd_append_param() {
	_procd_key=$1
	shift
	[ "$_procd_key" = command ] || { echo "append_param $_procd_key $*" >>"$PROCD_LOG"; return 0; }
	for _a in "$@"; do printf '%s\n' "$_a" >>"$PROCD_LOG.cmd$_procd_n"; done
}
procd_close_instance() { echo "close_instance" >>"$PROCD_LOG"; }
procd_add_reload_trigger() { echo "reload_trigger $*" >>"$PROCD_LOG"; }
