import { fromFunctionCall, parseExpect, toFunctionCall, worstCaseSeconds } from './function-call'

describe('function call', () => {
  it('reads expected statuses, any 2xx when empty', () => {
    expect(parseExpect('200, 204')).toEqual(['200', '204'])
    expect(parseExpect('2XX 404')).toEqual(['2xx', '404'])
    expect(parseExpect('  ')).toEqual(['2xx'])
  })

  it('leaves out what is empty and round-trips', () => {
    const call = toFunctionCall({
      name: 'greet',
      method: '',
      headers: [
        { name: 'X-Source', value: 'console' },
        { name: '', value: '' },
      ],
      body: '',
      requestTimeoutSeconds: 10,
      retries: 1,
      backoffSeconds: 3,
      expect: '200,202',
    })
    expect(call).toEqual({
      name: 'greet',
      headers: [{ name: 'X-Source', value: 'console' }],
      requestTimeoutSeconds: 10,
      retries: 1,
      backoffSeconds: 3,
      expect: ['200', '202'],
    })
    expect(toFunctionCall(fromFunctionCall(call))).toEqual(call)
    expect(fromFunctionCall(undefined).expect).toBe('2xx')
  })

  it('computes the worst case like the server', () => {
    expect(worstCaseSeconds({ requestTimeoutSeconds: 30, retries: 2, backoffSeconds: 2 })).toBe(96)
    expect(worstCaseSeconds({ requestTimeoutSeconds: 60, retries: 1, backoffSeconds: 10 })).toBe(130)
  })
})
