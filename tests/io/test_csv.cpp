// Tests for numeric CSV reading: accepted layouts and every error, which must name the file, line and column.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/csv.h"
#include "kiln/core/error.h"

namespace fs = std::filesystem;
using kiln::IOError;
using kiln::io::CsvOptions;
using kiln::io::CsvTable;
using kiln::io::read_csv;

namespace {

testing::AssertionResult has_substr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

class CsvTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(testing::TempDir()) / ("kiln_csv_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const std::string& content, const std::string& name = "t.csv") {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  // The IOError message for reading content; checks that it names the file.
  std::string error(const std::string& content, const CsvOptions& options = {}) {
    std::string path = file(content);
    try {
      read_csv(path, options);
    } catch (const IOError& e) {
      EXPECT_TRUE(has_substr(e.what(), path));
      return e.what();
    }
    ADD_FAILURE() << "read_csv did not throw IOError for:\n" << content;
    return "";
  }

  fs::path dir_;
};

TEST_F(CsvTest, ReadsHeaderAndRowMajorValues) {
  CsvTable t = read_csv(file("a,b,c\n1,2,3\n4.5,-6e2,7\n"));
  EXPECT_EQ(t.columns, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(t.rows, 2);
  EXPECT_EQ(t.cols, 3);
  EXPECT_EQ(t.values, (std::vector<double>{1, 2, 3, 4.5, -600, 7}));
}

TEST_F(CsvTest, ToleratesCrlfBlanksQuotesAndTrailingEmptyLines) {
  CsvTable t = read_csv(file("\"x\", y \r\n 1 ,\"2\"\r\n\" 3.5 \" ,\t4\r\n\r\n\n"));
  EXPECT_EQ(t.columns, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(t.rows, 2);
  EXPECT_EQ(t.values, (std::vector<double>{1, 2, 3.5, 4}));
}

TEST_F(CsvTest, NoFinalNewlineAndByteOrderMark) {
  CsvTable t = read_csv(file("\xEF\xBB\xBFp,q\n1,2"));
  EXPECT_EQ(t.columns, (std::vector<std::string>{"p", "q"}));
  EXPECT_EQ(t.values, (std::vector<double>{1, 2}));
}

TEST_F(CsvTest, NoHeaderAndOtherDelimiters) {
  CsvTable t = read_csv(file("1;2\n3;4\n"), {';', false});
  EXPECT_TRUE(t.columns.empty());
  EXPECT_EQ(t.rows, 2);
  EXPECT_EQ(t.cols, 2);
  EXPECT_EQ(t.values, (std::vector<double>{1, 2, 3, 4}));
  CsvTable tabs = read_csv(file("a\tb\n5\t6\n"), {'\t', true});
  EXPECT_EQ(tabs.columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(tabs.values, (std::vector<double>{5, 6}));
}

TEST_F(CsvTest, QuotedHeaderMayHoldTheDelimiterAndQuotes) {
  CsvTable t = read_csv(file("\"a,b\",\"say \"\"hi\"\"\"\n1,2\n"));
  EXPECT_EQ(t.columns, (std::vector<std::string>{"a,b", "say \"hi\""}));
}

TEST_F(CsvTest, HeaderOnlyGivesZeroRows) {
  CsvTable t = read_csv(file("a,b,c\n"));
  EXPECT_EQ(t.rows, 0);
  EXPECT_EQ(t.cols, 3);
  EXPECT_TRUE(t.values.empty());
}

TEST_F(CsvTest, SpecialNumbers) {
  CsvTable t = read_csv(file("v\nnan\n-inf\n1e-320\n0x10\n"));
  ASSERT_EQ(t.rows, 4);
  EXPECT_TRUE(std::isnan(t.values[0]));
  EXPECT_EQ(t.values[1], -INFINITY);
  EXPECT_GT(t.values[2], 0.0);  // underflows to a denormal, which is still the right value
  EXPECT_EQ(t.values[3], 16.0);
}

TEST_F(CsvTest, MissingFile) {
  std::string path = (dir_ / "missing.csv").string();
  try {
    read_csv(path);
    FAIL() << "no error";
  } catch (const IOError& e) {
    EXPECT_TRUE(has_substr(e.what(), path));
    EXPECT_TRUE(has_substr(e.what(), "cannot open"));
  }
}

TEST_F(CsvTest, DirectoryIsRefused) {
  try {
    read_csv(dir_.string());
    FAIL() << "no error";
  } catch (const IOError& e) {
    EXPECT_TRUE(has_substr(e.what(), "is a directory"));
  }
}

TEST_F(CsvTest, EmptyFile) {
  EXPECT_TRUE(has_substr(error(""), "file is empty"));
  EXPECT_TRUE(has_substr(error("\n\r\n  \n"), "file is empty"));
}

TEST_F(CsvTest, NonNumericFieldNamesLineAndColumn) {
  std::string msg = error("a,b\n1,2\n3,x\n");
  EXPECT_TRUE(has_substr(msg, "line 3, column 2"));
  EXPECT_TRUE(has_substr(msg, "'x' is not a number"));
  EXPECT_TRUE(has_substr(error("a\n1.5abc\n"), "line 2, column 1: '1.5abc' is not a number"));
  EXPECT_TRUE(has_substr(error("1 2\n", {',', false}), "'1 2' is not a number"));
}

TEST_F(CsvTest, HeaderFalseTreatsTextFirstLineAsData) {
  EXPECT_TRUE(has_substr(error("a,b\n1,2\n", {',', false}), "line 1, column 1: 'a' is not a number"));
}

TEST_F(CsvTest, EmptyField) {
  EXPECT_TRUE(has_substr(error("a,b,c\n1,,3\n"), "line 2, column 2: empty field"));
  EXPECT_TRUE(has_substr(error("a,b\n1,\n"), "line 2, column 2: empty field"));
}

TEST_F(CsvTest, WrongFieldCount) {
  std::string few = error("a,b,c\n1,2,3\n4,5\n");
  EXPECT_TRUE(has_substr(few, "line 3, column 3"));
  EXPECT_TRUE(has_substr(few, "row has 2 fields, expected 3"));
  std::string many = error("1,2\n3,4,5\n", {',', false});
  EXPECT_TRUE(has_substr(many, "line 2, column 3: row has 3 fields, expected 2 (the first line's count)"));
}

TEST_F(CsvTest, BlankLineInTheMiddle) {
  EXPECT_TRUE(has_substr(error("a\n1\n\n2\n"), "line 3, column 1: blank line in the middle"));
}

TEST_F(CsvTest, UnterminatedQuote) {
  EXPECT_TRUE(has_substr(error("a,b\n1,\"2\n"), "line 2, column 2: unterminated quoted field"));
}

TEST_F(CsvTest, TextAfterClosingQuote) {
  EXPECT_TRUE(has_substr(error("a\n\"1\"2\n"), "line 2, column 1: unexpected text after the closing quote"));
}

TEST_F(CsvTest, OutOfRangeNumber) {
  EXPECT_TRUE(has_substr(error("a\n1e999\n"), "line 2, column 1: '1e999' is out of the range of a double"));
}

TEST_F(CsvTest, InvalidDelimiter) { EXPECT_TRUE(has_substr(error("1\n", {'"', false}), "invalid delimiter")); }

}  // namespace
