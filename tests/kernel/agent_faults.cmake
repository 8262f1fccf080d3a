# Kernel and process faults against the real agent (issue #14 §4): another writer's EEXIST and
# ENOENT races, the xtables lock held, an ipset "in use" at --cleanup, and kill -9 at random
# points of a 2,000-Service sync under a client loop. flock gives the guest an xtables lock.
# 4 kills keep the boot near 4 minutes; docs/reliability.md has the 20-kill command and run.
ipvs_agent_kernel_test(agent.faults
  SCRIPT agent_faults.sh
  BINARIES ipvs-agent /usr/bin/flock
  FILES ${PROJECT_SOURCE_DIR}/manifests/examples/node.yaml:/test/m/node.yaml
  ENV FAULT_KILLS=4
  TIMEOUT 600
  SLOT 0)  # the longest guest test: see ipvs_agent_kernel_vm_lock
