#include "util/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace skynet {
namespace {

const std::string kFffd(kReplacementCharacter);

// True when `text` is well-formed UTF-8 (validUtf8 leaves it unchanged).
bool wellFormed(const std::string& text) { return validUtf8(text) == text; }

TEST(Utf8, KeepsWellFormedTextByteForByte) {
  const std::string text = "plain ascii, caf\xC3\xA9, \xE2\x82\xAC 20, \xF0\x9F\x98\x80 and U+10FFFF \xF4\x8F\xBF\xBF";
  EXPECT_EQ(validUtf8(text), text);
  EXPECT_EQ(validUtf8(""), "");
  EXPECT_EQ(validUtf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(Utf8, ReplacesBytesThatCanStartNoCharacter) {
  EXPECT_EQ(validUtf8("a\xFF" "b"), "a" + kFffd + "b");
  EXPECT_EQ(validUtf8("\xFE\xFF"), kFffd + kFffd);
  EXPECT_EQ(validUtf8("\xF5\x80\x80\x80"), kFffd + kFffd + kFffd + kFffd);
}

TEST(Utf8, ReplacesStrayContinuationBytesOneByOne) {
  EXPECT_EQ(validUtf8("x\x80y"), "x" + kFffd + "y");
  EXPECT_EQ(validUtf8("\xBF\xBF"), kFffd + kFffd);
  // A whole character followed by one continuation byte too many.
  EXPECT_EQ(validUtf8("\xC3\xA9\xA9"), "\xC3\xA9" + kFffd);
}

TEST(Utf8, ReplacesOverlongForms) {
  EXPECT_EQ(validUtf8("\xC0\xAF"), kFffd + kFffd);          // '/' in two bytes
  EXPECT_EQ(validUtf8("\xC1\xBF"), kFffd + kFffd);
  EXPECT_EQ(validUtf8("\xE0\x80\xAF"), kFffd + kFffd + kFffd);  // '/' in three bytes
  EXPECT_EQ(validUtf8("\xF0\x80\x80\xAF"), kFffd + kFffd + kFffd + kFffd);
}

TEST(Utf8, ReplacesSurrogates) {
  EXPECT_EQ(validUtf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // U+D800
  EXPECT_EQ(validUtf8("\xED\xBF\xBF"), kFffd + kFffd + kFffd);  // U+DFFF
  EXPECT_EQ(validUtf8("\xED\x9F\xBF"), "\xED\x9F\xBF");         // U+D7FF is fine
}

TEST(Utf8, ReplacesCodePointsAboveTheLastOne) {
  EXPECT_EQ(validUtf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // U+110000
  EXPECT_EQ(validUtf8("\xF7\xBF\xBF\xBF"), kFffd + kFffd + kFffd + kFffd);
}

TEST(Utf8, ReplacesASequenceCutShortWithOneCharacter) {
  EXPECT_EQ(validUtf8("ok \xE2\x82"), "ok " + kFffd);            // euro sign without its last byte
  EXPECT_EQ(validUtf8("\xF0\x9F\x98"), kFffd);                   // 4-byte character cut at the end
  EXPECT_EQ(validUtf8("\xF0\x9F" "abc"), kFffd + "abc");         // ... or in the middle
  EXPECT_EQ(validUtf8("\xC3"), kFffd);
}

TEST(Utf8Tail, KeepsShortTextWhole) {
  EXPECT_EQ(utf8Tail("hello", 5), "hello");
  EXPECT_EQ(utf8Tail("hello", 100), "hello");
  EXPECT_EQ(utf8Tail("", 10), "");
}

TEST(Utf8Tail, KeepsTheEnd) {
  EXPECT_EQ(utf8Tail("0123456789", 4), "6789");
  EXPECT_EQ(utf8Tail("0123456789", 0), "");
}

TEST(Utf8Tail, StartsAtACharacterBoundaryWhenTheCutFallsInsideOne) {
  // "é" is C3 A9: a 2-byte cut keeps only its second byte, which is dropped.
  EXPECT_EQ(utf8Tail("\xC3\xA9z", 2), "z");
  // A 4-byte character cut after its first byte: its three continuation bytes are dropped.
  const std::string grin = "\xF0\x9F\x98\x80";
  EXPECT_EQ(utf8Tail("a" + grin + "b", 4), "b");
  EXPECT_EQ(utf8Tail("a" + grin + "b", 5), grin + "b");
  EXPECT_EQ(utf8Tail(grin + grin + grin, 9), grin + grin);
}

TEST(Utf8Tail, RepairsACutCharacterAtTheEnd) {
  const std::string tail = utf8Tail("output \xE2\x82", 4);
  EXPECT_TRUE(wellFormed(tail));
  EXPECT_LE(tail.size(), 4u);
  EXPECT_EQ(tail, " " + kFffd);  // "t " + U+FFFD would be 5 bytes
}

TEST(Utf8Tail, StaysWithinTheLimitWhenReplacementsGrowTheText) {
  // Each 0xff (1 byte) becomes U+FFFD (3 bytes).
  const std::string tail = utf8Tail("abc\xFF\xFF\xFF\xFF", 7);
  EXPECT_TRUE(wellFormed(tail));
  EXPECT_LE(tail.size(), 7u);
  EXPECT_EQ(tail, kFffd + kFffd);
  EXPECT_EQ(utf8Tail("\xFF", 2), "");
}

TEST(Utf8Tail, IsAlwaysWellFormedAndWithinTheLimit) {
  // Every cut of a text mixing 1- to 4-byte characters with ill-formed bytes.
  const std::string text = "a\xC3\xA9\xFF\xE2\x82\xAC\x80\xF0\x9F\x98\x80\xED\xA0\x80z\xF0\x9F";
  for (std::size_t limit = 0; limit <= text.size() + 2; ++limit) {
    const std::string tail = utf8Tail(text, limit);
    EXPECT_TRUE(wellFormed(tail)) << limit;
    EXPECT_LE(tail.size(), limit);
  }
}

}  // namespace
}  // namespace skynet
