// Strict UTF-8, as scrapers require it.
#include "lib/src/utf8.h"

#include <doctest/doctest.h>

namespace promdir {
namespace {

TEST_CASE("IsStrictUtf8 refuses what a scraper refuses") {
  CHECK(IsStrictUtf8(""));
  CHECK(IsStrictUtf8("plain ascii"));
  CHECK(IsStrictUtf8("caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80"));
  CHECK_FALSE(IsStrictUtf8("\xed\xb2\x80"));      // lone surrogate U+DC80
  CHECK_FALSE(IsStrictUtf8("\xed\xa0\x80"));      // U+D800
  CHECK_FALSE(IsStrictUtf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(IsStrictUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(IsStrictUtf8("\xff"));
  CHECK_FALSE(IsStrictUtf8("ab\xe2\x98"));        // cut off
}

TEST_CASE("ShowBytes escapes exactly the bytes that are not UTF-8") {
  CHECK(ShowBytes("ok \xc3\xa9") == "ok \xc3\xa9");
  CHECK(ShowBytes("a\xed\xb2\x80z") == "a\\xed\\xb2\\x80z");
  CHECK(ShowBytes("\xff\xfe") == "\\xff\\xfe");
}

TEST_CASE("DecodeCodePoint takes surrogates (JSON may hold them) but not "
          "overlong forms") {
  size_t i = 0;
  uint32_t cp = 0;
  CHECK(DecodeCodePoint("\xed\xb2\x80", &i, &cp));
  CHECK(cp == 0xdc80);
  CHECK(i == 3);
  i = 0;
  CHECK_FALSE(DecodeCodePoint("\xe0\x80\xaf", &i, &cp));
  CHECK(i == 0);
}

}  // namespace
}  // namespace promdir
