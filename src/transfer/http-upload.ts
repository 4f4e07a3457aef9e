// Uploads a body with HTTP PUT: the adapter behind VendorLogFile.Upload(). node:http/https rather than the global
// fetch, which would load undici (several MiB) into the long-running agent for a command that is rarely used.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Upload } from '../datamodel/bindings/vendor-log-files.ts';

export const httpUpload: Upload = ({ url, body, headers, signal }) =>
  new Promise<number>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const req = send(url, { method: 'PUT', headers: { ...headers, 'content-length': String(bytes.length) }, signal }, (response: IncomingMessage) => {
      // The answer's body is of no interest; reading it frees the socket.
      response.resume();
      response.on('end', () => { resolve(response.statusCode ?? 0); });
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(bytes);
  });
