# Shared by the CGI scripts: the requested host, lower-cased and checked (only letters, digits, '.' and '-'),
# so nothing from the query string reaches a file or a pattern unchecked.
host_from_query() {
  host=$(printf '%s' "${QUERY_STRING:-}" | sed -n 's/^\(.*&\)\{0,1\}host=\([^&]*\).*$/\2/p' | tr 'A-Z' 'a-z')
  case "$host" in
    ''|*[!a-z0-9.-]*|.*|*..*) return 1 ;;
  esac
  printf '%s' "$host"
}

reply() {
  printf 'Status: %s\r\nContent-Type: text/plain\r\n\r\n%s\n' "$1" "$2"
}
