/* nfvctl's HTTP client: one REST call through libcurl, and the server's errors reported. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "orchestrator/nfvctl.h"

#define CTL_TIMEOUT_S 30L
#define CTL_CONNECT_TIMEOUT_S 5L

static size_t ctl_write(char *data, size_t size, size_t n, void *arg)
{
	struct ctl_resp *resp = arg;
	char *grown = realloc(resp->body, resp->len + size * n + 1);

	if (grown == NULL)
		return 0;
	memcpy(grown + resp->len, data, size * n);
	resp->body = grown;
	resp->len += size * n;
	resp->body[resp->len] = 0;
	return size * n;
}

static struct curl_slist *ctl_headers(const struct ctl_opts *o, bool has_body)
{
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	char auth[512];

	if (has_body)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (o->token != NULL && o->token[0] != 0) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token);
		h = curl_slist_append(h, auth);
	}
	return h;
}

/* One call: 'method' on base URL + 'path' with an optional JSON 'body'. Returns 0 with
 * '*resp' filled (the caller frees resp->body), or CTL_EXIT_FAIL when the server cannot be
 * reached (reported here). */
int nfvctl_call(const struct ctl_opts *o, const char *method, const char *path,
		const char *body, struct ctl_resp *resp)
{
	char url[1024], errbuf[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();
	struct curl_slist *h = ctl_headers(o, body != NULL);
	CURLcode cc;

	memset(resp, 0, sizeof(*resp));
	snprintf(url, sizeof(url), "%.*s%s", (int)strcspn(o->url, "?#"), o->url, path);
	if (c == NULL)
		return nfvctl_fail("out of memory");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ctl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, CTL_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CTL_CONNECT_TIMEOUT_S);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (cc != CURLE_OK) {
		free(resp->body);
		resp->body = NULL;
		return nfvctl_fail("%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
	}
	return 0;
}

/* Print the server's error message ({"error": {"message"}}, else the raw body). */
int nfvctl_server_error(const struct ctl_resp *resp)
{
	json_t *j = resp->body ? json_loads(resp->body, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	int rc;

	if (msg != NULL)
		rc = nfvctl_fail("%s (HTTP %ld)", msg, resp->status);
	else
		rc = nfvctl_fail("HTTP %ld: %s", resp->status, resp->body ? resp->body : "");
	json_decref(j);
	return rc;
}

/* A call whose success is a 2xx with a JSON body: printed as it is with --json, parsed
 * into '*out' when 'out' is not NULL. Errors are reported; returns an exit status. */
int nfvctl_request(const struct ctl_opts *o, const char *method, const char *path,
		   const char *body, json_t **out)
{
	struct ctl_resp resp;
	int rc = nfvctl_call(o, method, path, body, &resp);

	if (rc != 0)
		return rc;
	if (resp.status < 200 || resp.status > 299) {
		rc = nfvctl_server_error(&resp);
		free(resp.body);
		return rc;
	}
	if (o->json)
		fputs(resp.body ? resp.body : "", stdout);
	if (out != NULL) {
		*out = resp.body ? json_loads(resp.body, 0, NULL) : NULL;
		if (*out == NULL)
			rc = nfvctl_fail("the server's answer is not JSON (HTTP %ld)", resp.status);
	}
	free(resp.body);
	return rc;
}

/* "/v1/nfs/<escaped name><suffix>" into 'buf'. */
void nfvctl_nf_path(char *buf, size_t size, const char *name, const char *suffix)
{
	char *esc = curl_easy_escape(NULL, name, 0);

	snprintf(buf, size, "/v1/nfs/%s%s", esc ? esc : "", suffix);
	curl_free(esc);
}
