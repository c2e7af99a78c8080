using System.Text;
using ImapActors.Extraction.Internal;

namespace ImapActors.Extraction.Tests;

public class Base64StreamTests
{
    [Theory]
    [InlineData("SGVsbG8gd29ybGQh\r\nSGVsbG8=\r\n", true)]
    [InlineData("SGVsbG8gd29ybGQh\nSGVsbA==\n", true)]
    [InlineData("SGVsbG8gd29ybGQh", true)]
    [InlineData("", true)]
    [InlineData("SGVsbG8gd29ybGQh\r\nSGVsbG8\r\n", false)]
    [InlineData("SGVsbG8g d29ybGQh", false)]
    [InlineData("SGVsbG8=SGVsbG8=", false)]
    [InlineData("SGVsbG8gd29ybGQh=", false)]
    [InlineData("SGVsbA=", false)]
    [InlineData("SGVsbG8==", false)]
    public void Plain_input_is_told_apart_from_input_decoders_may_read_differently(string encoded, bool plain)
    {
        using var stream = new Base64Stream(new MemoryStream(Encoding.ASCII.GetBytes(encoded)));
        stream.CopyTo(Stream.Null);
        Assert.Equal(plain, stream.DecodedPlainInput);
    }

    [Fact]
    public void Plain_input_is_only_known_at_the_end()
    {
        using var stream = new Base64Stream(new MemoryStream(Encoding.ASCII.GetBytes("SGVsbG8gd29ybGQh")));
        Assert.False(stream.DecodedPlainInput);
    }
}
