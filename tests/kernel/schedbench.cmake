# Scheduler benchmark smoke run (issue 7): the benchmark's backend, load generator and
# programming step on a real IPVS kernel; rr over 3 backends must split exactly 1:1:1.
# The agent binary is shipped for the programming step (its dry-run plan, or its real mode).
ipvs_agent_kernel_test(schedbench.smoke
  SCRIPT schedbench_smoke.sh
  BINARIES sched_backend sched_loadgen ipvs-agent
  FILES ../../bench/sched/guest_lib.sh
  TIMEOUT 120)
