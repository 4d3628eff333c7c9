#!/usr/bin/env bash
# ansible-lint (production profile) and --syntax-check of every playbook.
# Uses the Ansible venv: $ANSIBLE_VENV (default: <repo>/.venv-ansible).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=${ANSIBLE_VENV:-$repo/.venv-ansible}
export PATH=$venv/bin:$PATH ANSIBLE_CONFIG=$repo/ansible/ansible.cfg
cd "$repo/ansible"
for pb in site.yml migrate.yml upgrade.yml backup.yml restore.yml move.yml verify.yml; do
  ansible-playbook -i inventory.example.yml --syntax-check "$pb" > /dev/null
  echo "syntax-check ok: $pb"
done
ansible-lint --offline --profile production --nocolor
