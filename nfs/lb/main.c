/* nf-lb: the load balancer network function as a DPDK process. */
#include "nf/nf.h"
#include "nfs/lb/lb.h"

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &lb_nf_def);
}
