/* nf-nat: the NAT network function as a DPDK process. */
#include "nf/nf.h"
#include "nfs/nat/nat.h"

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &nat_nf_def);
}
