// libgtest.a (C++): a GoogleTest run from its static library: test
// registration by static constructors in many members, COMDAT template
// code shared between the program and the archive, exceptions thrown and
// caught across them, typed and parameterised tests.  Timings are off, so
// the output is fixed.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

static int parse(const std::string &s)
{
    size_t used = 0;
    int v = std::stoi(s, &used);
    if (used != s.size())
        throw std::invalid_argument("trailing characters in '" + s + "'");
    return v;
}

TEST(Archive, Arithmetic)
{
    EXPECT_EQ(2 + 2, 4);
    EXPECT_NE(std::string("lib.a"), std::string("lib.so"));
    EXPECT_NEAR(1.0 / 3.0, 0.3333, 1e-3);
}

TEST(Archive, Exceptions)
{
    EXPECT_EQ(parse("42"), 42);
    EXPECT_THROW(parse("42x"), std::invalid_argument);
    EXPECT_ANY_THROW(parse("x"));
    EXPECT_NO_THROW(parse("-7"));
}

template <typename T> class Sizes : public ::testing::Test {};
using SizeTypes = ::testing::Types<char, short, int, long long>;
TYPED_TEST_SUITE(Sizes, SizeTypes);
TYPED_TEST(Sizes, Container)
{
    std::vector<TypeParam> v(10, TypeParam(3));
    EXPECT_EQ(v.size(), 10u);
    EXPECT_EQ(v[9], TypeParam(3));
}

class Squares : public ::testing::TestWithParam<int> {};
TEST_P(Squares, NonNegative)
{
    EXPECT_GE(GetParam() * GetParam(), 0);
}
INSTANTIATE_TEST_SUITE_P(Few, Squares, ::testing::Values(-3, 0, 5));

int main(int argc, char **argv)
{
    ::testing::GTEST_FLAG(print_time) = false;
    ::testing::GTEST_FLAG(color) = "no";
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
