#include "aegir/php_value.h"

#include <gtest/gtest.h>

namespace skynet::aegir {
namespace {

TEST(SerializedTruth, ReadsEveryFormOfTrueAegirStores) {
  EXPECT_EQ(serializedTruth("b:1;"), true);
  EXPECT_EQ(serializedTruth("i:1;"), true);
  EXPECT_EQ(serializedTruth("s:1:\"1\";"), true);
  EXPECT_EQ(serializedTruth("s:3:\"yes\";"), true);
  EXPECT_EQ(serializedTruth("i:-2;"), true);
}

TEST(SerializedTruth, ReadsFalseAsPhpDoes) {
  EXPECT_EQ(serializedTruth("b:0;"), false);
  EXPECT_EQ(serializedTruth("i:0;"), false);
  EXPECT_EQ(serializedTruth("s:1:\"0\";"), false);
  EXPECT_EQ(serializedTruth("s:0:\"\";"), false);
  EXPECT_EQ(serializedTruth("N;"), false);
  EXPECT_EQ(serializedTruth("d:0;"), false);
}

TEST(SerializedTruth, RejectsWhatIsNotASerializedScalar) {
  EXPECT_FALSE(serializedTruth("1").has_value());
  EXPECT_FALSE(serializedTruth("a:0:{}").has_value());
  EXPECT_FALSE(serializedTruth("s:5:\"1\";").has_value());  // wrong length
  EXPECT_FALSE(serializedTruth("").has_value());
}

}  // namespace
}  // namespace skynet::aegir
