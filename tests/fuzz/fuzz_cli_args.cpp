// libFuzzer harness: any bytes as `kiln`'s argv (NUL-separated words), parsed by the app `kiln` builds, without
// running the command. CLI11's refusals (CLI::ParseError, including --help/--version) and kiln::Error are
// expected; anything else is a finding.
#include <string>
#include <vector>

#include "commands.h"
#include "kiln/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> words{"kiln"};
  std::string word;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      words.push_back(word);
      word.clear();
    } else {
      word += static_cast<char>(data[i]);
    }
  }
  if (size > 0) words.push_back(word);
  if (words.size() > 64) return 0;  // argv length is not what is being tested
  std::vector<const char*> argv;
  for (const std::string& w : words) argv.push_back(w.c_str());
  std::unique_ptr<CLI::App> app = kiln::cli::make_app();
  try {
    kiln::cli::parse_only(*app, static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
  } catch (const kiln::Error&) {
  }
  return 0;
}
