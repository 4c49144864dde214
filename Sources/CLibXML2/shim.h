#ifndef KETENZICHT_CLIBXML2_SHIM_H
#define KETENZICHT_CLIBXML2_SHIM_H
#include <libxml/xmlversion.h>
// libxml2's ICU headers clash with Foundation's ICU; the reader does not need them.
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>

// xmlFree is a global function pointer, which Swift cannot call directly.
static inline void ketenzicht_xmlFree(void *pointer) { xmlFree(pointer); }
#endif
