#include "lib/src/key_codec.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace promdir {
namespace {

// Hard label values: every one must encode exactly as Python's json.dumps.
const std::vector<std::string> kHardValues = {
    "",
    "plain",
    "caf\xc3\xa9",                      // é
    "\xe6\x97\xa5\xe6\x9c\xac",         // 日本
    "\xf0\x9f\x98\x80 emoji",           // 😀 (a surrogate pair)
    "quote\" back\\slash",
    "new\nline\ttab\rcr\bbs\fff",
    std::string("ctl\x01\x1f\x7f", 6),
    "slash/ok",
    "\xef\xbf\xbf max bmp",              // U+FFFF
    "\xf4\x8f\xbf\xbf",                 // U+10FFFF
    std::string(200, 'x'),
};

std::string PythonKey(const std::string& label_value) {
  // Hex-encode the value so the shell and Python's source see only ASCII.
  std::string hex;
  static const char* d = "0123456789abcdef";
  for (unsigned char c : label_value) {
    hex.push_back(d[c >> 4]);
    hex.push_back(d[c & 15]);
  }
  std::string script =
      "import json,sys\n"
      "v=bytes.fromhex('" + hex + "').decode('utf-8')\n"
      "sys.stdout.write(json.dumps(['m', 'm_total', {'z': v, 'a': 'A', 'ü': 'u'}, 'help \\\\ \"x\"\\n'], sort_keys=True))\n";
  int rc = 0;
  std::string out = test::RunCommand(std::string(test::kPython) + " -", script, &rc);
  REQUIRE(rc == 0);
  return out;
}

TEST_CASE("keys are byte-identical to Python's json.dumps") {
  for (const auto& v : kHardValues) {
    CAPTURE(v);
    auto key = EncodeKey("m", "m_total", {{"z", v}, {"a", "A"}, {"\xc3\xbc", "u"}},
                         "help \\ \"x\"\n");
    REQUIRE(key.ok());
    CHECK(*key == PythonKey(v));
  }
}

TEST_CASE("keys decode back to what was encoded") {
  for (const auto& v : kHardValues) {
    auto key = EncodeKey("name:x", "name:x_bucket", {{"le", "+Inf"}, {"v", v}}, "h");
    REQUIRE(key.ok());
    DecodedKey d;
    REQUIRE(DecodeKey(*key, &d).ok());
    CHECK(d.metric_name == "name:x");
    CHECK(d.sample_name == "name:x_bucket");
    REQUIRE(d.labels.size() == 2);
    CHECK(d.labels[0] == std::pair<std::string, std::string>{"le", "+Inf"});
    CHECK(d.labels[1].second == v);
    CHECK(d.help == "h");
  }
}

TEST_CASE("empty labels encode as {}") {
  auto key = EncodeKey("g", "g", {}, "");
  REQUIRE(key.ok());
  CHECK(*key == R"(["g", "g", {}, ""])");
}

TEST_CASE("invalid UTF-8 and repeated label names are refused") {
  CHECK(EncodeKey("m", "m", {{"a", "\xff"}}, "").status().IsInvalidArgument());
  CHECK(EncodeKey("m", "m", {{"a", "\xc0\x80"}}, "").status().IsInvalidArgument());
  CHECK(EncodeKey("m", "m", {{"a", "1"}, {"a", "2"}}, "").status().IsInvalidArgument());
}

TEST_CASE("bad keys are corruption with a reason") {
  DecodedKey d;
  CHECK(DecodeKey("not json", &d).IsCorruption());
  CHECK(DecodeKey(R"(["a", "b", {}])", &d).message().find("3-element") != std::string::npos);
  CHECK(DecodeKey(R"(["a", "b", {"x": 1}, ""])", &d).IsCorruption());
  CHECK(DecodeKey(R"(["a", "b", {}, "", "e"])", &d).IsCorruption());
  CHECK(DecodeKey("[\"a\xff\", \"b\", {}, \"\"]", &d).message().find("UTF-8") != std::string::npos);
  CHECK(DecodeKey(R"(["a", "b", {}, ""] x)", &d).IsCorruption());
  CHECK(DecodeKey(R"({"a": "b"})", &d).IsCorruption());
  CHECK(DecodeKey(R"(["a", "b", {}, "h"])", &d).ok());
}

TEST_CASE("a key decodes to views of itself, or of unescaped copies") {
  // Plain strings are views of the key; every escaped one is unescaped into
  // the same storage, and all of them stay valid together. Labels come out
  // sorted whatever order the key gives them in.
  const std::string key =
      R"(["m\u00e9", "m", {"z\"q": "v\\1", "b": "plain", "a": "\n\t"}, "h\u00e9lp \ud83d\ude00"])";
  DecodedKeyView v;
  REQUIRE(DecodeKeyView(key, &v).ok());
  CHECK(v.metric_name == "m\xc3\xa9");
  CHECK(v.sample_name == "m");
  CHECK(v.sample_name.data() >= key.data());
  CHECK(v.sample_name.data() < key.data() + key.size());
  REQUIRE(v.labels.size() == 3);
  CHECK(v.labels[0] == LabelView{"a", "\n\t"});
  CHECK(v.labels[1] == LabelView{"b", "plain"});
  CHECK(v.labels[2] == LabelView{"z\"q", "v\\1"});
  CHECK(v.help == "h\xc3\xa9lp \xf0\x9f\x98\x80");
  CHECK(v.storage.size() <= key.size());
  DecodedKey d;
  REQUIRE(DecodeKey(key, &d).ok());
  CHECK(d.metric_name == v.metric_name);
  CHECK(d.labels == LabelPairs{{"a", "\n\t"}, {"b", "plain"}, {"z\"q", "v\\1"}});
  // Decoding again reuses the storage.
  REQUIRE(DecodeKeyView(R"(["x", "x", {}, ""])", &v).ok());
  CHECK(v.labels.empty());
  CHECK(v.metric_name == "x");
  CHECK(DecodeKeyView("[\"a\xff\", \"b\", {}, \"\"]", &v).message().find(
            "UTF-8") != std::string::npos);
}

TEST_CASE("escapes and surrogate pairs decode") {
  DecodedKey d;
  REQUIRE(DecodeKey(R"(["m", "m", {"a": "\ud83d\ude00\u00e9\n\"\\\/"}, ""])", &d).ok());
  CHECK(d.labels[0].second == "\xf0\x9f\x98\x80\xc3\xa9\n\"\\/");
}

}  // namespace
}  // namespace promdir
