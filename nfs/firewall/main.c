/* nf-firewall: the stateful firewall network function as a DPDK process. */
#include "nf/nf.h"
#include "nfs/firewall/fw.h"

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &fw_nf_def);
}
