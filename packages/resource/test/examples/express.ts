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
app.use(expressResource({ source: bearer(verifier) }));

app.get('/stock', (req, res) => {
  res.json({ caller: principalOf(req).clientId });
});
app.post('/reserve', authorize(requireScope('inventory:reserve')), (req, res) => {
  res.status(201).json({ reservedFor: principalOf(req).subject });
});

app.listen(Number(process.env.PORT ?? 4003), '127.0.0.1');
