/*
 * seqcore_go_post.i: Go overlay, included by seqcore.i after the declarations.
 *
 * The Go half of the error convention of seqcore_go_pre.i: DecodePanic turns
 * the value recovered from a wrapper's panic back into status and message.
 * (Code inserted here may only import what the package's hand-written files
 * import too, as the go tool learns the imports before SWIG runs; this needs
 * none.)
 */

%insert(go_wrapper) %{

// DecodePanic reports whether r, a value recovered from a panic raised by
// one of this package's functions, is a library failure ("seqc:<status>:
// <message>"), and if so its status code and message. Any other panic gives
// ok == false.
func DecodePanic(r interface{}) (status int, message string, ok bool) {
	s, isString := r.(string)
	const prefix = "seqc:"
	if !isString || len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return 0, "", false
	}
	i := len(prefix)
	negative := i < len(s) && s[i] == '-'
	if negative {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' && i-start < 9 {
		status = status*10 + int(s[i]-'0')
		i++
	}
	if i == start || i >= len(s) || s[i] != ':' {
		return 0, "", false
	}
	if negative {
		status = -status
	}
	return status, s[i+1:], true
}
%}
