#!/bin/sh
# The teardown CronJob's pod has a read-only root file system and a writable /tmp: Pulumi's
# home (workspaces, credentials) goes there, and the provider plugins baked into the image
# are linked in, so a run downloads nothing.
set -eu
pulumi_home="${PULUMI_HOME:-$HOME/.pulumi}"
mkdir -p "$HOME" "$pulumi_home"
[ -e "$pulumi_home/plugins" ] || ln -s /opt/pulumi/plugins "$pulumi_home/plugins"
exec "$@"
