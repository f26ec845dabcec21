using GpuDaemon.GrpcWire.Internal;

namespace GpuDaemon.Tests.GrpcWire;

public sealed class GrpcStatusMessageTests
{
    [Theory]
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("100% sure", "100%25 sure")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("ü", "%C3%BC")]
    public void Encode_Text_PercentEncodesOutsidePrintableAscii(string text, string expected)
    {
        Assert.Equal(expected, GrpcStatusMessage.Encode(text));
    }

    [Theory]
    [InlineData("unknown device \"bad-ünï%code\": 100% not found")]
    [InlineData("")]
    [InlineData("emoji 🚀 and tab\t")]
    public void Decode_EncodedText_RoundTrips(string text)
    {
        Assert.Equal(text, GrpcStatusMessage.Decode(GrpcStatusMessage.Encode(text)));
    }

    [Theory]
    [InlineData("50%", "50%")]
    [InlineData("%zz", "%zz")]
    [InlineData("%4", "%4")]
    public void Decode_MalformedEscape_KeepsItAsWritten(string encoded, string expected)
    {
        Assert.Equal(expected, GrpcStatusMessage.Decode(encoded));
    }
}
