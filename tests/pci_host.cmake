# pci-host and the PCI config bus (no /dev/kvm needed).
dvm_unit_test(test_pci_host test_pci_host.c)
