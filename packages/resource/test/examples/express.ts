import { bearer, createVerifier, requireScope } from '@tessera/resource';
import { authorize, expressResource, principalOf } from '@tessera/resource/express';
import express from 'express';

const verifier = await createVerifier({
  issuer: process.env.TESSERA_ISSUER ?? 'http://127.0.0.1:4000',
  audience: 'inventory',
});

const app = express();
app.get('/health', (_req, res) => {
  res.json({ ok: true }); // mounted before the middleware: public
});
const resource = expressResource({ source: bearer(verifier) });
app.use(resource);

app.get('/stock', (req, res) => {
  res.json({ caller: principalOf(req).clientId });
});
app.post('/reserve', authorize(requireScope('inventory:reserve')), (req, res) => {
  res.status(201).json({ reservedFor: principalOf(req).subject });
});
app.use(resource.errorHandler); // after the routes: what they throw is answered as a 401/403/500 is

app.listen(Number(process.env.PORT ?? 4003), '127.0.0.1');
