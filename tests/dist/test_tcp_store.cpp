// TCPStore: set/get/wait between a master and a client, and clear errors when the master is absent or leaves.
#include <gtest/gtest.h>

#include <thread>

#include "dist/spawn.h"
#include "kiln/dist/store.h"

namespace kiln::dist {
namespace {

using namespace std::chrono_literals;

TEST(TCPStore, SetGetWaitBetweenMasterAndClient) {
  TCPStore master("127.0.0.1", 0, true, 5000ms);
  ASSERT_GT(master.port(), 0);
  TCPStore client("127.0.0.1", master.port(), false, 5000ms);
  master.set("a", std::string("x\0y", 3));  // values are bytes
  EXPECT_EQ(client.get("a"), std::string("x\0y", 3));
  EXPECT_FALSE(client.check({"a", "b"}));
  std::thread later([&] {
    std::this_thread::sleep_for(50ms);
    client.set("b", std::string(100000, 'z'));  // larger than one socket read
  });
  master.wait({"a", "b"}, 5000ms);
  later.join();
  EXPECT_TRUE(master.check({"a", "b"}));
  EXPECT_EQ(master.get("b"), std::string(100000, 'z'));
  client.set("a", "");  // overwrite with an empty value
  EXPECT_EQ(master.get("a"), "");
}

TEST(TCPStore, WaitTimesOutNamingTheMissingKeys) {
  TCPStore master("127.0.0.1", 0, true, 300ms);
  master.set("here", "1");
  auto start = std::chrono::steady_clock::now();
  try {
    master.wait({"here", "absent"}, 200ms);
    FAIL() << "wait returned without the key";
  } catch (const DistError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("'absent'"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("'here'"), std::string::npos) << msg;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_THROW(master.get("absent"), DistError);  // get waits the store's timeout, then fails
}

TEST(TCPStore, UnreachableMasterFailsWithinTheTimeout) {
  int port = test::free_port();  // nothing listens there
  auto start = std::chrono::steady_clock::now();
  try {
    TCPStore client("127.0.0.1", port, false, 300ms);
    FAIL() << "connected to a port with no master";
  } catch (const DistError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << msg;
    EXPECT_NE(msg.find("MASTER_ADDR"), std::string::npos) << msg;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(TCPStore, MasterThatLeavesGivesAClearError) {
  auto master = std::make_unique<TCPStore>("127.0.0.1", 0, true, 2000ms);
  TCPStore client("127.0.0.1", master->port(), false, 2000ms);
  client.set("k", "v");
  master.reset();
  try {
    client.set("k2", "v");
    client.check({"k"});
    FAIL() << "the store answered after its master left";
  } catch (const DistError& e) {
    EXPECT_NE(std::string(e.what()).find("stopped answering"), std::string::npos) << e.what();
  }
}

TEST(TCPStore, PortInUseIsAnIOError) {
  TCPStore master("127.0.0.1", 0, true, 1000ms);
  EXPECT_THROW(TCPStore("127.0.0.1", master.port(), true, 1000ms), IOError);
}

}  // namespace
}  // namespace kiln::dist
