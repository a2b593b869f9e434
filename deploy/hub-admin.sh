#!/bin/sh
# Run a one-off hub command with the services' settings and secrets, as the hub user:
#   sudo /opt/hub/deploy/hub-admin.sh migrate
#   sudo /opt/hub/deploy/hub-admin.sh worktool bind
#   sudo /opt/hub/deploy/hub-admin.sh worktool check
#   sudo /opt/hub/deploy/hub-admin.sh rules check
#   sudo /opt/hub/deploy/hub-admin.sh users add NAME --role admin
#   sudo /opt/hub/deploy/hub-admin.sh backup /var/backups/hub/hub-$(date +%F).sqlite3
# Reads /etc/hub/hub.env (KEY=VALUE lines; quote values holding & ? or spaces, as systemd also accepts) and
# the secrets the systemd units load from /etc/hub/credentials/ (docs/operations.md).
set -eu
HUB_HOME=${HUB_HOME:-/opt/hub}
ETC=${HUB_ETC:-/etc/hub}
cd "$HUB_HOME"
set -a
. "$ETC/hub.env"
set +a
# Without these the command would generate local secrets under data/secrets/ (right only for `make run`).
HUB__WORKTOOL__CALLBACK_TOKEN=$(cat "$ETC/credentials/callback_token")
HUB__API__TOKENS=$(cat "$ETC/credentials/api_tokens")
export HUB__WORKTOOL__CALLBACK_TOKEN HUB__API__TOKENS
if [ -r "$ETC/credentials/session_secret" ]; then
    HUB__CONSOLE__SESSION_SECRET=$(cat "$ETC/credentials/session_secret")
    export HUB__CONSOLE__SESSION_SECRET
fi
exec runuser -u hub -- "$HUB_HOME/.venv/bin/hub" --config "$HUB_HOME/config.yaml" "$@"
