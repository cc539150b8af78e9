# A stand-in, for tests, for what OpenWrt's rc.common gives an init script: the UCI helpers
# of /lib/functions.sh (config_load, config_get, config_get_bool, user_exists), the procd
# helpers of /lib/functions/procd.sh (with uci_load_validate and uci_validate_section, which
# check the types of /sbin/validate_data the init script uses), jshn's json_* calls,
# network_get_ipaddr of /lib/functions/network.sh, logger, id, and the `uci` command for
# uci-defaults scripts. Sourced by POSIX sh before the init script.
#
# UCI config files are valid shell once `config`, `option` and `list` are functions (that is
# how OpenWrt loads them too), so config_load sources $UCI_CONFIG_DIR/NAME.
# Each procd call is written to $PROCD_LOG, one line per call; the argv of each instance's
# command goes to $PROCD_LOG.cmdN (N = instance number), one argument per line.
# chown is recorded, not done: the test runs without the agent's user.
# The init script runs as it is; the test sets its file paths (CONF_FILE, UAGENT_DMI_FILES)
# after sourcing it.

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
config_load() { # package: read afresh, as uci does
	for _v in $(set | sed -n 's/^\(CONFIG_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$_v"; done
	. "$UCI_CONFIG_DIR/$1"
}
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
id() { # -g USER: the user's group id from $STANDIN_PASSWD
	[ "$1" = -g ] || return 1
	awk -F: -v u="$2" '$1 == u { print $4; found = 1 } END { exit !found }' "$STANDIN_PASSWD"
}
logger() { echo "logger $*" >>"$PROCD_LOG"; }
# Addresses of the networks: lines "NAME ADDRESS" in $STANDIN_IFADDRS.
network_get_ipaddr() { # var network
	eval "$1=\$(awk -v n=\"\$2\" '\$1 == n { print \$2 }' \"\$STANDIN_IFADDRS\" 2>/dev/null)"
}

# /sbin/validate_data's answer for one value of TYPE (the types the init script uses).
_standin_valid() { # type value
	case "$1" in
		bool) case "$2" in 0 | 1 | on | off | true | false | yes | no | enabled | disabled) return 0 ;; esac; return 1 ;;
		uinteger) case "$2" in '' | *[!0-9]*) return 1 ;; esac; return 0 ;;
		port) _standin_valid uinteger "$2" && [ "$2" -ge 0 ] && [ "$2" -le 65535 ] ;;
		range\(*) _standin_valid uinteger "$2" || return 1
			_r=${1#range(}; _r=${_r%)}
			[ "$2" -ge "${_r%,*}" ] && [ "$2" -le "${_r#*,}" ] ;;
		ipaddr) echo "$2" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}$|:' ;;
		file) [ -f "$2" ] ;;
		directory) [ -d "$2" ] ;;
		string) return 0 ;;
		list\(*) _t=${1#list(}; _t=${_t%)}
			for _v in $2; do _standin_valid "$_t" "$_v" || return 1; done ;;
		*) echo "stand-in: no check for type $1" >&2; return 1 ;;
	esac
}
uci_validate_section() { # package type section spec...
	config_load "$1"
	_section=$3
	shift 3
	_err=0
	for _spec in "$@"; do
		_name=${_spec%%:*}
		_rest=${_spec#*:}
		_vtype=${_rest%%:*}
		_default=
		[ "$_rest" = "$_vtype" ] || _default=${_rest#*:}
		eval "_value=\${CONFIG_${_section}_${_name}-}"
		if [ -z "$_value" ]; then
			_value=$_default
		elif ! _standin_valid "$_vtype" "$_value"; then
			echo "validate_data: option '$_name' of type $_vtype has an invalid value" >&2
			_err=1
		fi
		eval "$_name=\$_value"
	done
	return $_err
}
uci_load_validate() { # package type section function spec...
	_ulv_package=$1 _ulv_type=$2 _ulv_name=$3 _ulv_function=$4
	shift 4
	uci_validate_section "$_ulv_package" "$_ulv_type" "$_ulv_name" "$@"
	_ulv_result=$?
	"$_ulv_function" "$_ulv_name" "$_ulv_result"
}

# `uci -q get|set|delete PACKAGE.SECTION.OPTION[=VALUE]` and `uci commit` on the files of
# $UCI_CONFIG_DIR (options only, as uci-defaults scripts use them).
uci() {
	[ "$1" = -q ] && shift
	case "$1" in
		commit) echo "uci commit $2" >>"$PROCD_LOG"; return 0 ;;
		get | set | delete) ;;
		*) return 1 ;;
	esac
	_op=$1 _path=${2%%=*} _val=${2#*=}
	_file=$UCI_CONFIG_DIR/${_path%%.*}
	_opt=${_path##*.}
	case "$_op" in
		get) sed -n "s/^[[:space:]]*option $_opt '\(.*\)'\$/\1/p" "$_file" | grep . ;;
		delete) sed -i "/^[[:space:]]*option $_opt /d" "$_file" ;;
		set) sed -i "/^[[:space:]]*option $_opt /d" "$_file"
			printf "\toption %s '%s'\n" "$_opt" "$_val" >>"$_file" ;;
	esac
}
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
procd_add_reload_interface_trigger() { echo "reload_interface_trigger $*" >>"$PROCD_LOG"; }
procd_add_validation() { echo "validation $*" >>"$PROCD_LOG"; }
procd_open_data() { echo "open_data" >>"$PROCD_LOG"; }
procd_close_data() { echo "close_data" >>"$PROCD_LOG"; }
json_add_array() { echo "json_add_array $*" >>"$PROCD_LOG"; }
json_add_object() { echo "json_add_object $*" >>"$PROCD_LOG"; }
json_add_string() { echo "json_add_string $*" >>"$PROCD_LOG"; }
json_close_object() { echo "json_close_object" >>"$PROCD_LOG"; }
json_close_array() { echo "json_close_array" >>"$PROCD_LOG"; }
