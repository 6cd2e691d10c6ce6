/* The core's metrics in the Prometheus text exposition format (GET /metrics). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "orchestrator/orch_int.h"

/* Upper bounds (seconds) of the detection-to-reroute histogram buckets. */
static const double rr_bounds[ORCH_RR_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void orch_metrics_rr(struct orch *o, double ms)
{
	double s = ms / 1000.0;

	for (unsigned i = 0; i < ORCH_RR_BUCKETS; i++) {
		if (s <= rr_bounds[i]) {
			o->m.rr_buckets[i]++;
			break;
		}
	}
	o->m.rr_count++;
	o->m.rr_sum_s += s;
	o->m.last_rr_ms = ms;
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void instances_by_state(FILE *f, struct orch *o)
{
	head(f, "orch_instances", "gauge", "Instances by NF and state.");
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next) {
		unsigned n[ORCH_INST__COUNT] = { 0 };

		if (nf->deleting)
			continue;
		for (unsigned i = 0; i < ORCH_NF_ENTRIES; i++)
			if (nf->insts[i].in_use)
				n[nf->insts[i].rec.state]++;
		for (int s = 0; s < ORCH_INST__COUNT; s++)
			fprintf(f, "orch_instances{nf=\"%s\",state=\"%s\"} %u\n", nf->spec.name,
				orch_inst_state_name(s), n[s]);
	}
	head(f, "orch_nf_desired_instances", "gauge", "Desired instance count per NF.");
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next)
		if (!nf->deleting)
			fprintf(f, "orch_nf_desired_instances{nf=\"%s\"} %u\n", nf->spec.name,
				nf->spec.instances);
}

/* One gauge per live instance: 'which' 0 = pps, 1 = busy. */
static void per_instance(FILE *f, struct orch *o, int which)
{
	for (struct orch_nf *nf = o->nfs; nf != NULL; nf = nf->next) {
		for (unsigned i = 0; i < ORCH_NF_ENTRIES && !nf->deleting; i++) {
			const struct orch_inst *in = &nf->insts[i];

			if (!in->in_use || in->rec.last_heartbeat_ms == 0)
				continue;
			fprintf(f, "orch_instance_%s{nf=\"%s\",instance=\"%s\"} %.3f\n",
				which ? "busy" : "pps", nf->spec.name, in->rec.id,
				which ? in->rec.busy : in->rec.pps);
		}
	}
}

static void failovers(FILE *f, struct orch *o)
{
	head(f, "orch_failovers_total", "counter", "Instances failed and replaced, by cause.");
	for (int c = 0; c < ORCH_FAIL__COUNT; c++)
		fprintf(f, "orch_failovers_total{cause=\"%s\"} %llu\n", orch_fail_cause_name(c),
			(unsigned long long)o->m.failovers[c]);
	head(f, "orch_scale_events_total", "counter", "Changes of a desired instance count.");
	fprintf(f, "orch_scale_events_total{source=\"api\"} %llu\n",
		(unsigned long long)o->m.scale_api);
	fprintf(f, "orch_scale_events_total{source=\"autoscale\"} %llu\n",
		(unsigned long long)o->m.scale_autoscale);
	head(f, "orch_launches_total", "counter", "Instances launched.");
	fprintf(f, "orch_launches_total %llu\n", (unsigned long long)o->m.launches);
	head(f, "orch_launch_failures_total", "counter", "Launches that failed.");
	fprintf(f, "orch_launch_failures_total %llu\n", (unsigned long long)o->m.launch_failures);
}

static void reroute_histogram(FILE *f, struct orch *o)
{
	uint64_t cum = 0;

	head(f, "orch_detection_to_reroute_seconds", "histogram",
	     "From the detection of a failure to the barrier reply of the steering change.");
	for (unsigned i = 0; i < ORCH_RR_BUCKETS; i++) {
		cum += o->m.rr_buckets[i];
		fprintf(f, "orch_detection_to_reroute_seconds_bucket{le=\"%g\"} %llu\n", rr_bounds[i],
			(unsigned long long)cum);
	}
	fprintf(f, "orch_detection_to_reroute_seconds_bucket{le=\"+Inf\"} %llu\n",
		(unsigned long long)o->m.rr_count);
	fprintf(f, "orch_detection_to_reroute_seconds_sum %.6f\n", o->m.rr_sum_s);
	fprintf(f, "orch_detection_to_reroute_seconds_count %llu\n",
		(unsigned long long)o->m.rr_count);
	head(f, "orch_scale_to_steering_seconds", "gauge",
	     "The last scale request (or creation) until its new instance was in the steering.");
	fprintf(f, "orch_scale_to_steering_seconds %.6f\n", o->m.last_scale_ms / 1000.0);
}

static void connections(FILE *f, struct orch *o, bool store_up)
{
	head(f, "orch_openflow_connected", "gauge", "1 while the bridge is connected.");
	fprintf(f, "orch_openflow_connected %d\n", o->of_ready ? 1 : 0);
	head(f, "orch_openflow_reconnects_total", "counter",
	     "Connections of the bridge after the first.");
	fprintf(f, "orch_openflow_reconnects_total %llu\n",
		(unsigned long long)(o->m.of_connects > 0 ? o->m.of_connects - 1 : 0));
	head(f, "orch_store_up", "gauge", "1 while Redis is reachable.");
	fprintf(f, "orch_store_up %d\n", store_up ? 1 : 0);
}

char *orch_metrics_text(struct orch *o)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (f == NULL)
		return NULL;
	pthread_mutex_lock(&o->lock);
	instances_by_state(f, o);
	head(f, "orch_instance_pps", "gauge", "Packets per second of an instance (last heartbeat).");
	per_instance(f, o, 0);
	head(f, "orch_instance_busy", "gauge", "Busy-cycle ratio of an instance (last heartbeat).");
	per_instance(f, o, 1);
	failovers(f, o);
	reroute_histogram(f, o);
	connections(f, o, orch_state_connected(o->st_api));
	pthread_mutex_unlock(&o->lock);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
