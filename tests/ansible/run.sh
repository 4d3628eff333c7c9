#!/usr/bin/env bash
# Run the Ansible deployment tests (CI: `bash tests/ansible/run.sh` as root).
# Installs what it needs: the Ansible venv (.venv-ansible, from
# ansible/requirements.txt), Debian's docker-compose (to validate
# docker-compose.yml without an engine), and testhost's tools (debootstrap,
# systemd-container, socat). Boots throwaway Debian 12 hosts with
# tests/ansible/testhost and always tears them down. About 12-15 minutes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
export DEBIAN_FRONTEND=noninteractive
venv=${ANSIBLE_VENV:-$repo/.venv-ansible}
python=${PYTHON:-$(command -v python3.11 || command -v python3)}

need_apt=()
for pair in docker-compose:docker-compose debootstrap:debootstrap systemd-nspawn:systemd-container \
            socat:socat ssh:openssh-client rsync:rsync; do
  command -v "${pair%%:*}" > /dev/null || need_apt+=("${pair#*:}")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" > /dev/null
fi

if [ ! -x "$venv/bin/ansible-playbook" ] || ! cmp -s ansible/requirements.txt "$venv/.requirements"; then
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r ansible/requirements.txt
  cp ansible/requirements.txt "$venv/.requirements"
fi

export ANSIBLE_PLAYBOOK="$venv/bin/ansible-playbook"
# The release wheelhouse is built with the controller's python3 (3.11, like the hosts).
exec "$venv/bin/pytest" -c tests/ansible/pytest.ini tests/ansible -v "$@"
