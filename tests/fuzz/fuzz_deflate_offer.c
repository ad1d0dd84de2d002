/* The client's Sec-WebSocket-Extensions offer, checked as the server does
 * (deflate.h): read only within its length, and accepted only when it names
 * permessage-deflate; the answer (tacws_deflate_answer) is given for exactly
 * those offers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *offer = malloc(size ? size : 1); /* exactly size bytes: a read past them is caught */
	if (!offer)
		return 0;
	memcpy(offer, data, size);
	if (tacws_deflate_offer_accepts(offer, size)) {
		const char *name = "permessage-deflate";
		size_t n = strlen(name);
		int named = 0;
		for (size_t i = 0; i + n <= size && !named; i++)
			named = strncasecmp(offer + i, name, n) == 0;
		if (!named || size > TACWS_DEFLATE_OFFER_MAX)
			abort();
	}
	/* the answer: given exactly for the offers accepted, within its room, and
	 * with a window an inflater can open */
	char answer[TACWS_DEFLATE_ANSWER_MAX];
	int bits = 0;
	size_t alen = tacws_deflate_answer(offer, size, answer, sizeof answer, &bits);
	if ((alen > 0) != tacws_deflate_offer_accepts(offer, size) || alen >= sizeof answer ||
	    (alen && (strlen(answer) != alen || bits < 9 || bits > 15 ||
		      strncmp(answer, "permessage-deflate; server_no_context_takeover; "
				      "client_no_context_takeover", 74))))
		abort();
	free(offer);
	return 0;
}
