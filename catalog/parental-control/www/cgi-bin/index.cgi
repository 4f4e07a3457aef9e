#!/bin/sh
# GET / → the page a parent opens: the app's version and the domains blocked right now. busybox httpd runs
# /cgi-bin/index.cgi for a directory URL when there is no index.html, so the page is always generated from
# the saved list rather than being a static file that goes stale.
printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
version=$(cat /app/VERSION)
cat <<HTML
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>parental-control $version</title></head>
<body><h1>parental-control $version</h1>
<p>Blocked domains (their subdomains are blocked too):</p>
<ul>
HTML
# Only well-formed names are shown (what /cgi-bin/block accepts), so nothing in the saved list can inject HTML.
grep -E '^[a-z0-9.-]+$' /data/blocklist.txt | sed 's|.*|<li>&</li>|'
cat <<'HTML'
</ul>
<p>API: <code>/cgi-bin/check?host=example.com</code> answers <code>allow</code> or <code>block</code>;
<code>/cgi-bin/block?host=example.com</code> adds a domain; <code>/cgi-bin/list</code> is the list as plain text.</p>
</body></html>
HTML
