#include "lib/src/float_format.h"

#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <vector>

#include "tests/test_util.h"

namespace promdir {
namespace {

const std::vector<double> kValues = {
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
    7.5, 10.0, 1e6, 1234567.0, 1e16, 1e15, 1e17, 1e300, 1e-9, 1e-5, 1e-4,
    0.0001234, 123456.0, 12345678.9, -1.5, -1e6, 0.1 + 0.2, 166.0, 0.0,
    -0.0, 3.14159, 1e22, 5e-324, 1.7976931348623157e308, 100.0, 1e7};

TEST_CASE("GoFloat matches prometheus_client's floatToGoString") {
  std::ostringstream script;
  script << "import struct,sys\n"
            "from prometheus_client.utils import floatToGoString\n"
            "for line in sys.stdin.read().split():\n"
            "    d = struct.unpack('<d', bytes.fromhex(line))[0]\n"
            "    print(floatToGoString(d))\n";
  std::string input;
  for (double v : kValues) {
    const auto* b = reinterpret_cast<const unsigned char*>(&v);
    static const char* hex = "0123456789abcdef";
    for (int i = 0; i < 8; ++i) {
      input.push_back(hex[b[i] >> 4]);
      input.push_back(hex[b[i] & 15]);
    }
    input.push_back('\n');
  }
  test::TempDir tmp;
  test::WriteFile(tmp.File("s.py"), script.str());
  int rc = 0;
  std::string out = test::RunCommand(
      std::string(test::kPython) + " " + tmp.File("s.py"), input, &rc);
  REQUIRE(rc == 0);
  std::istringstream lines(out);
  for (double v : kValues) {
    std::string expected;
    std::getline(lines, expected);
    CAPTURE(v);
    CHECK(GoFloat(v) == expected);
  }
}

TEST_CASE("special values") {
  CHECK(GoFloat(HUGE_VAL) == "+Inf");
  CHECK(GoFloat(-HUGE_VAL) == "-Inf");
  CHECK(GoFloat(std::nan("")) == "NaN");
}

TEST_CASE("ParsePythonFloat") {
  CHECK(*ParsePythonFloat("+Inf") == HUGE_VAL);
  CHECK(*ParsePythonFloat("-inf") == -HUGE_VAL);
  CHECK(std::isnan(*ParsePythonFloat("NaN")));
  CHECK(*ParsePythonFloat("1e+06") == 1e6);
  CHECK(*ParsePythonFloat("0.005") == 0.005);
  CHECK(*ParsePythonFloat(" 2.5 ") == 2.5);
  CHECK_FALSE(ParsePythonFloat("abc"));
  CHECK_FALSE(ParsePythonFloat(""));
  CHECK_FALSE(ParsePythonFloat("1.0x"));
  CHECK_FALSE(ParsePythonFloat("--1"));
}

TEST_CASE("ParsePythonFloat takes what Python's float() takes") {
  // Each value as /usr/bin/python3 -c 'print(repr(float(s)))' gives it.
  CHECK(*ParsePythonFloat("1e999") == HUGE_VAL);
  CHECK(*ParsePythonFloat("-1e999") == -HUGE_VAL);
  CHECK(*ParsePythonFloat("1e-999") == 0.0);
  CHECK(*ParsePythonFloat("1_0") == 10.0);
  CHECK(*ParsePythonFloat("1_000.2_5") == 1000.25);
  CHECK(*ParsePythonFloat("1e1_0") == 1e10);
  CHECK(*ParsePythonFloat("infinity") == HUGE_VAL);
  CHECK(*ParsePythonFloat("-Infinity") == -HUGE_VAL);
  CHECK(*ParsePythonFloat("+iNfInItY") == HUGE_VAL);
  CHECK(*ParsePythonFloat(".5") == 0.5);
  CHECK(*ParsePythonFloat("5.") == 5.0);
  CHECK(*ParsePythonFloat("4.9e-324") == 4.9e-324);
  CHECK_FALSE(ParsePythonFloat("1__0"));
  CHECK_FALSE(ParsePythonFloat("_1"));
  CHECK_FALSE(ParsePythonFloat("1_"));
  CHECK_FALSE(ParsePythonFloat("1_.5"));
  CHECK_FALSE(ParsePythonFloat("1e"));
  CHECK_FALSE(ParsePythonFloat("infinit"));
  CHECK_FALSE(ParsePythonFloat("0x10"));
}

}  // namespace
}  // namespace promdir
