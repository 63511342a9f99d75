package remote

// PutFileScript and SHA256Hex let the tests drive the write script as the
// client does, with a transfer cut short or a wrong hash.
const PutFileScript = putFileScript

func SHA256Hex(data []byte) string { return sha256Hex(data) }
