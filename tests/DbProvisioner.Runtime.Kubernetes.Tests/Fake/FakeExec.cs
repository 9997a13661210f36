using System.Net.WebSockets;
using System.Text;
using k8s;

namespace DbProvisioner.Runtime.Kubernetes.Tests.Fake;

/// <summary>
/// The fake API server's exec: KubernetesClient opens exec as a websocket through its WebSocketBuilder, so the fake's
/// client hands it this builder, which answers in memory as the kubelet would over v4.channel.k8s.io (one binary
/// message per write, its first byte the channel: 1 stdout, 2 stderr, 3 the Status that says how the command ended).
/// </summary>
internal sealed class FakeExecBuilder(Func<Uri, (string Stdout, int ExitCode)> exec) : WebSocketBuilder
{
    public override Task<WebSocket> BuildAndConnectAsync(Uri uri, CancellationToken cancellationToken)
    {
        var (stdout, exit) = exec(uri);
        var status = exit == 0
            ? """{"metadata":{},"status":"Success"}"""
            : $$"""{"metadata":{},"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"{{exit}}"}]},"message":"command terminated with non-zero exit code"}""";
        return Task.FromResult<WebSocket>(new ScriptedWebSocket([Frame(1, stdout), Frame(3, status)]));
    }

    private static byte[] Frame(byte channel, string text) => [channel, .. Encoding.UTF8.GetBytes(text)];
}

/// <summary>A server side that sends its messages, then closes; what the client sends is ignored (the command reads no stdin).</summary>
internal sealed class ScriptedWebSocket(IReadOnlyList<byte[]> messages) : WebSocket
{
    private int _next;
    private int _offset;
    private WebSocketState _state = WebSocketState.Open;

    public override WebSocketCloseStatus? CloseStatus => _state == WebSocketState.Open ? null : WebSocketCloseStatus.NormalClosure;
    public override string? CloseStatusDescription => null;
    public override WebSocketState State => _state;
    public override string? SubProtocol => "v4.channel.k8s.io";

    public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
    {
        if (_next >= messages.Count)
        {
            _state = _state == WebSocketState.Open ? WebSocketState.CloseReceived : _state;
            return Task.FromResult(new WebSocketReceiveResult(0, WebSocketMessageType.Close, true, WebSocketCloseStatus.NormalClosure, ""));
        }
        var message = messages[_next];
        var n = Math.Min(buffer.Count, message.Length - _offset);
        Array.Copy(message, _offset, buffer.Array!, buffer.Offset, n);
        _offset += n;
        var end = _offset == message.Length;
        if (end) { _next++; _offset = 0; }
        return Task.FromResult(new WebSocketReceiveResult(n, WebSocketMessageType.Binary, end));
    }

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) => Task.CompletedTask;

    public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        _state = WebSocketState.Closed;
        return Task.CompletedTask;
    }

    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        _state = _state == WebSocketState.CloseReceived ? WebSocketState.Closed : WebSocketState.CloseSent;
        return Task.CompletedTask;
    }

    public override void Abort() => _state = WebSocketState.Aborted;

    public override void Dispose() => _state = WebSocketState.Closed;
}
