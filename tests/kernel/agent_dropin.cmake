# Issue 16's drop-in checks: kubeadm's config.conf unchanged, conntrack tuning read back from
# /proc/sys and /sys, and every detect-local-mode's rule read back with iptables-save.
ipvs_agent_kernel_test(agent.dropin
  SCRIPT agent_dropin.sh
  BINARIES ipvs-agent
  FILES ${PROJECT_SOURCE_DIR}/tests/fixtures/kubeadm/kubeadm-1.33-ipvs.conf:/test/kubeadm.conf
        ${PROJECT_SOURCE_DIR}/manifests/examples/services.yaml:/test/m/services.yaml
        ${PROJECT_SOURCE_DIR}/manifests/examples/endpointslices.yaml:/test/m/endpointslices.yaml
        ${PROJECT_SOURCE_DIR}/manifests/examples/node.yaml:/test/m/node.yaml
        ${PROJECT_SOURCE_DIR}/tests/kernel/data/monitoring/kube_proxy_families.txt
  TIMEOUT 560)
